"""Typed properties of docsync models.

Each property knows three things:

* how to check and normalise a Python value (``validate``), raising
  :class:`docsync.errors.ValidationError` with the model, the property, the expected type
  and the value received;
* its engine type spec (``spec``), the string the Rust engine validates against
  (grammar in ``docsync/_core.pyi``);
* how to convert between the Python form (model objects, tuples, datetimes) and the
  engine form (``Ref``, lists, milliseconds): ``to_engine`` / ``from_engine``.

Validation happens in Python before a value reaches the engine, for detached models
(which have no engine yet) and attached ones alike, so the error names the Python class
and is raised at the line that caused it.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np

from docsync._core import Ref
from docsync.errors import ValidationError

if TYPE_CHECKING:
    from docsync.model import Model

__all__ = [
    "Property", "Any_", "AnyRef", "Bool", "Int", "Float", "NonNegative", "Percent", "Size",
    "String", "Color", "Enum", "Nullable", "Either", "List", "Seq", "Dict", "Tuple",
    "Instance", "ColumnData", "Datetime", "Override", "DataSpec", "NumberSpec",
    "ColorSpec", "StringSpec", "AlphaSpec", "AngleSpec", "NullNumberSpec", "field", "value",
    "is_color", "named_colors", "MISSING",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Invalid(Exception):
    """Internal: raised by ``Property.check``; turned into ValidationError with context."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


def _short(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} (of type {type(value).__name__})"


class Property:
    """Base class of every property type.

    ``default`` is a value or a zero-argument callable producing one (for mutable or
    model defaults). ``client=True`` marks the property as changeable from the browser.
    """

    spec: str = "any"
    #: the conversion to/from the engine is the identity (fast path)
    plain: bool = True
    #: value types that need no check beyond their type and reach the engine unchanged
    #: (the setter's fast path: ``type(value) in prop.fast``)
    fast: frozenset[type] = frozenset()
    #: the value can contain model references (walked when attaching models)
    has_refs: bool = False

    def __init__(self, default: Any = None, *, client: bool = False, help: str | None = None) -> None:
        self._default = default
        self.client = client
        self.help = help
        self.name = "?"

    # -- descriptor protocol ------------------------------------------------------------
    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        doc = obj._doc
        if doc is None:
            value = obj._values.get(self.name, MISSING)
            if value is MISSING:
                value = self.default_value()
                if not self.plain:
                    obj._values[self.name] = value
            return self.wrap(obj, value)
        value = doc._engine.get(obj._id, self.name)
        if self.plain:
            return value
        return self.wrap(obj, self.from_engine(value, doc))

    def __set__(self, obj: Any, value: Any) -> None:
        obj._set_property(self, value)

    # -- defaults ----------------------------------------------------------------------
    @property
    def default_is_factory(self) -> bool:
        return callable(self._default) and not isinstance(self._default, type)

    def default_value(self) -> Any:
        d = self._default
        if d is list or d is dict:
            return d()
        if callable(d) and not isinstance(d, type):
            return d()
        if isinstance(d, list):
            return list(d)
        if isinstance(d, dict):
            return dict(d)
        return d

    @property
    def _model_factory(self) -> bool:
        # a factory default of a property that holds models makes a new model per
        # instance; the engine cannot have a model as a default, so it gets None
        return self.default_is_factory and self.has_refs

    def engine_default(self) -> Any:
        """The default registered with the engine (model factories register ``None``)."""
        if self._model_factory:
            return None
        return self.to_engine(self.default_value())

    @property
    def engine_spec(self) -> str:
        """The spec registered with the engine. Properties whose default is a new model
        register as nullable, since the engine has no model to use as a default."""
        if self.spec.startswith(("nullable(", "any")):
            return self.spec
        if self._model_factory or (self._default is None and isinstance(self, Instance)):
            return f"nullable({self.spec})"
        return self.spec

    # -- validation and conversion -----------------------------------------------------
    def describe(self) -> str:
        """What the property expects, for error messages."""
        return self.spec

    def check(self, value: Any) -> Any:
        """Return the normalised Python value or raise :class:`Invalid`."""
        return value

    def validate(self, value: Any, owner: Any = None) -> Any:
        try:
            return self.check(value)
        except Invalid as e:
            raise self.error(value, owner, e.detail) from None

    def error(self, value: Any, owner: Any, detail: str = "") -> ValidationError:
        where = f"{type(owner).__name__}.{self.name}" if owner is not None else self.name
        ident = f" (model id {owner._id!r})" if owner is not None and hasattr(owner, "_id") else ""
        msg = f"{where}{ident} expected {self.describe()}, got {_short(value)}"
        if detail:
            msg += f": {detail}"
        return ValidationError(msg)

    def to_engine(self, value: Any) -> Any:
        return value

    def from_engine(self, value: Any, doc: Any) -> Any:
        return value

    def wrap(self, owner: Any, value: Any) -> Any:
        """The object handed to the user (tracked containers for lists and dicts)."""
        return value

    def models_in(self, value: Any) -> Iterable["Model"]:
        """Model objects inside a (Python-form) value."""
        return ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


def _contains_model(value: Any) -> bool:
    from docsync.model import Model

    if isinstance(value, Model):
        return True
    if isinstance(value, (list, tuple)):
        return any(_contains_model(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_model(v) for v in value.values())
    return False


class Override:
    """Changes the default of an inherited property in a subclass body."""

    def __init__(self, *, default: Any) -> None:
        self.default = default


# ---------------------------------------------------------------------------------------
# primitives


class Any_(Property):
    """Any value the engine can hold."""

    spec = "any"
    plain = False
    has_refs = True

    def describe(self) -> str:
        return "any value"

    def check(self, value: Any) -> Any:
        return value

    def to_engine(self, value: Any) -> Any:
        return _any_to_engine(value)

    def from_engine(self, value: Any, doc: Any) -> Any:
        return _any_from_engine(value, doc)

    def models_in(self, value: Any) -> Iterable["Model"]:
        return _models_in_any(value)


AnyRef = Any_


def _any_to_engine(value: Any) -> Any:
    from docsync.model import Model

    if isinstance(value, Model):
        return Ref(value._id)
    if isinstance(value, (list, tuple)):
        return [_any_to_engine(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _any_to_engine(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _any_from_engine(value: Any, doc: Any) -> Any:
    if isinstance(value, Ref):
        return doc._resolve(value.id)
    if isinstance(value, list):
        return [_any_from_engine(v, doc) for v in value]
    if isinstance(value, dict):
        return {k: _any_from_engine(v, doc) for k, v in value.items()}
    return value


def _models_in_any(value: Any) -> Iterable["Model"]:
    from docsync.model import Model

    if isinstance(value, Model):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _models_in_any(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _models_in_any(v)


class Bool(Property):
    spec = "bool"
    fast = frozenset({bool})

    def __init__(self, default: bool = False, **kw: Any) -> None:
        super().__init__(default, **kw)

    def describe(self) -> str:
        return "bool"

    def check(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        raise Invalid()


class Int(Property):
    spec = "int"
    fast = frozenset({int})

    def __init__(self, default: int = 0, **kw: Any) -> None:
        super().__init__(default, **kw)

    def describe(self) -> str:
        return "int"

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or isinstance(value, np.bool_):
            raise Invalid("a bool is not an int here")
        if type(value) is int:
            return value
        if isinstance(value, numbers.Integral):
            return int(value)
        raise Invalid()


class Float(Property):
    spec = "float"
    fast = frozenset({float, int})

    def __init__(self, default: float = 0.0, **kw: Any) -> None:
        super().__init__(default, **kw)

    def describe(self) -> str:
        return "float"

    def check(self, value: Any) -> Any:
        t = type(value)
        if t is float or t is int:
            return value
        if isinstance(value, (bool, np.bool_)):
            raise Invalid("a bool is not a number here")
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            return float(value)
        raise Invalid()


class NonNegative(Float):
    fast = frozenset()
    def describe(self) -> str:
        return "non-negative float"

    def check(self, value: Any) -> Any:
        v = super().check(value)
        if v < 0:
            raise Invalid("must be >= 0")
        return v


Size = NonNegative


class Percent(Float):
    fast = frozenset()
    def describe(self) -> str:
        return "float between 0 and 1"

    def check(self, value: Any) -> Any:
        v = super().check(value)
        if not 0 <= v <= 1:
            raise Invalid("must be between 0 and 1")
        return v


class String(Property):
    spec = "str"
    fast = frozenset({str})

    def __init__(self, default: str = "", **kw: Any) -> None:
        super().__init__(default, **kw)

    def describe(self) -> str:
        return "str"

    def check(self, value: Any) -> Any:
        if isinstance(value, str):
            return str(value) if type(value) is not str else value
        raise Invalid()


class Enum(Property):
    """One of a fixed set of strings: ``Enum("left", "center", "right", default="left")``."""

    def __init__(self, *values: str, default: Any = MISSING, **kw: Any) -> None:
        if len(values) == 1 and not isinstance(values[0], str):
            values = tuple(values[0])
        self.values = tuple(values)
        super().__init__(values[0] if default is MISSING else default, **kw)
        self.spec = "enum(" + "|".join(self.values) + ")"

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def check(self, value: Any) -> Any:
        if isinstance(value, str) and value in self.values:
            return value
        if isinstance(value, str):
            import difflib

            close = difflib.get_close_matches(value, self.values, n=1)
            raise Invalid(f"did you mean {close[0]!r}?" if close else "")
        raise Invalid()


# ---------------------------------------------------------------------------------------
# colors

named_colors: frozenset[str] = frozenset(
    """aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue
    blueviolet brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk
    crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki
    darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen
    darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue
    dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro
    ghostwhite gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo
    ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
    lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen
    lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime limegreen
    linen magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple
    mediumseagreen mediumslateblue mediumspringgreen mediumturquoise mediumvioletred
    midnightblue mintcream mistyrose moccasin navajowhite navy oldlace olive olivedrab
    orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred papayawhip
    peachpuff peru pink plum powderblue purple rebeccapurple red rosybrown royalblue
    saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue
    slategray slategrey snow springgreen steelblue tan teal thistle tomato transparent
    turquoise violet wheat white whitesmoke yellow yellowgreen""".split()
)

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_RGB_FUNC = re.compile(r"^rgba?\(\s*[0-9.]+%?\s*,\s*[0-9.]+%?\s*,\s*[0-9.]+%?\s*(,\s*[0-9.]+%?\s*)?\)$")


def _color_tuple_ok(value: Any) -> bool:
    if not isinstance(value, (tuple, list)) or len(value) not in (3, 4):
        return False
    for i, c in enumerate(value):
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, numbers.Real):
            return False
        if i < 3 and not (isinstance(c, numbers.Integral) and 0 <= int(c) <= 255):
            return False
        if i == 3 and not 0 <= float(c) <= 1:
            return False
    return True


def is_color(value: Any) -> bool:
    """True for a CSS color name, a hex string, ``rgb(...)``/``rgba(...)`` or an
    (r, g, b[, a]) tuple with 0–255 ints and an alpha in 0–1."""
    if isinstance(value, str):
        return value.lower() in named_colors or bool(_HEX.match(value)) or bool(_RGB_FUNC.match(value))
    return isinstance(value, tuple) and _color_tuple_ok(value)


class Color(Property):
    """A color: a CSS name, ``#rgb``/``#rrggbb``/``#rrggbbaa``, ``rgb()``/``rgba()`` or an
    (r, g, b[, a]) tuple."""

    spec = "color"
    plain = False

    def __init__(self, default: Any = "black", **kw: Any) -> None:
        super().__init__(default, **kw)

    def describe(self) -> str:
        return "a color (CSS name, hex string, or (r, g, b[, a]) tuple)"

    def check(self, value: Any) -> Any:
        if isinstance(value, str):
            if is_color(value):
                return value
            import difflib

            close = difflib.get_close_matches(value.lower(), sorted(named_colors), n=1)
            raise Invalid(f"did you mean {close[0]!r}?" if close else "")
        if isinstance(value, (tuple, list)) and _color_tuple_ok(value):
            return tuple(int(c) if i < 3 else float(c) for i, c in enumerate(value))
        raise Invalid()

    def to_engine(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    def from_engine(self, value: Any, doc: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------
# containers


class Nullable(Property):
    """``None`` or a value of the inner type."""

    def __init__(self, inner: Property | type, default: Any = None, **kw: Any) -> None:
        self.inner = _as_prop(inner)
        super().__init__(default, **kw)
        self.spec = f"nullable({self.inner.spec})"
        self.plain = self.inner.plain
        self.fast = self.inner.fast | {type(None)} if self.inner.fast else frozenset()
        self.has_refs = self.inner.has_refs

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)
        self.inner.name = name

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"

    def check(self, value: Any) -> Any:
        if value is None:
            return None
        return self.inner.check(value)

    def to_engine(self, value: Any) -> Any:
        return None if value is None else self.inner.to_engine(value)

    def from_engine(self, value: Any, doc: Any) -> Any:
        return None if value is None else self.inner.from_engine(value, doc)

    def wrap(self, owner: Any, value: Any) -> Any:
        return None if value is None else self.inner.wrap(owner, value)

    def models_in(self, value: Any) -> Iterable["Model"]:
        return () if value is None else self.inner.models_in(value)


class Either(Property):
    """A value of the first of several types that accepts it."""

    def __init__(self, *types: Property | type, default: Any = MISSING, **kw: Any) -> None:
        self.types = [_as_prop(t) for t in types]
        super().__init__(self.types[0]._default if default is MISSING else default, **kw)
        self.spec = "either(" + "|".join(t.spec for t in self.types) + ")"
        self.plain = all(t.plain for t in self.types)
        self.has_refs = any(t.has_refs for t in self.types)

    def describe(self) -> str:
        return " or ".join(t.describe() for t in self.types)

    def _which(self, value: Any) -> tuple[Property, Any]:
        for t in self.types:
            try:
                return t, t.check(value)
            except Invalid:
                continue
        raise Invalid()

    def check(self, value: Any) -> Any:
        return self._which(value)[1]

    def to_engine(self, value: Any) -> Any:
        return self._which(value)[0].to_engine(value)

    def from_engine(self, value: Any, doc: Any) -> Any:
        for t in self.types:
            if isinstance(t, Instance) and isinstance(value, Ref):
                return t.from_engine(value, doc)
            if isinstance(t, Tuple) and isinstance(value, list):
                return t.from_engine(value, doc)
            if isinstance(t, List) and isinstance(value, list):
                return t.from_engine(value, doc)
        return value

    def wrap(self, owner: Any, value: Any) -> Any:
        for t in self.types:
            if isinstance(t, List) and isinstance(value, list):
                return t.wrap(owner, value)
        return value

    def models_in(self, value: Any) -> Iterable["Model"]:
        return _models_in_any(value)


def _seq_items(value: Any) -> list[Any] | None:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if _is_pandas_series(value):
        return value.tolist()
    return None


def _is_pandas_series(value: Any) -> bool:
    mod = type(value).__module__
    return mod.startswith("pandas") and type(value).__name__ in ("Series", "Index")


class List(Property):
    """A list of values of one type; handed out as a tracked list (in-place changes
    sync, like Bokeh's ``PropertyValueList``)."""

    def __init__(self, item: Property | type, default: Any = list, **kw: Any) -> None:
        self.item = _as_prop(item)
        super().__init__(default, **kw)
        self.spec = f"list({self.item.spec})"
        self.plain = False
        self.has_refs = self.item.has_refs

    @property
    def default_is_factory(self) -> bool:
        return self._default is not list and super().default_is_factory

    def default_value(self) -> Any:
        if self._default is list:
            return []
        return super().default_value()

    def describe(self) -> str:
        return f"a list of {self.item.describe()}"

    def check(self, value: Any) -> Any:
        items = _seq_items(value)
        if items is None or isinstance(value, str):
            raise Invalid()
        out = []
        for i, v in enumerate(items):
            try:
                out.append(self.item.check(v))
            except Invalid as e:
                raise Invalid(f"item {i} ({_short(v)}) is not {self.item.describe()}" + (f": {e.detail}" if e.detail else "")) from None
        return out

    def to_engine(self, value: Any) -> Any:
        conv = self.item.to_engine
        if self.item.plain and not isinstance(self.item, (Tuple, Color)):
            return list(value)
        return [conv(v) for v in value]

    def from_engine(self, value: Any, doc: Any) -> Any:
        if self.item.plain:
            return value
        conv = self.item.from_engine
        return [conv(v, doc) for v in value]

    def wrap(self, owner: Any, value: Any) -> Any:
        if owner is None:
            return value
        return TrackedList(value, owner, self)

    def models_in(self, value: Any) -> Iterable["Model"]:
        for v in value:
            yield from self.item.models_in(v)


Seq = List


class Tuple(Property):
    def __init__(self, *items: Property | type, default: Any = None, **kw: Any) -> None:
        self.items = [_as_prop(t) for t in items]
        super().__init__(default, **kw)
        self.spec = "tuple(" + ",".join(t.spec for t in self.items) + ")"
        self.plain = False
        self.has_refs = any(t.has_refs for t in self.items)

    def describe(self) -> str:
        return "a tuple (" + ", ".join(t.describe() for t in self.items) + ")"

    def check(self, value: Any) -> Any:
        items = _seq_items(value)
        if items is None or isinstance(value, str) or len(items) != len(self.items):
            raise Invalid()
        return tuple(t.check(v) for t, v in zip(self.items, items))

    def to_engine(self, value: Any) -> Any:
        return [t.to_engine(v) for t, v in zip(self.items, value)]

    def from_engine(self, value: Any, doc: Any) -> Any:
        if value is None:
            return None
        return tuple(t.from_engine(v, doc) for t, v in zip(self.items, value))

    def models_in(self, value: Any) -> Iterable["Model"]:
        for t, v in zip(self.items, value):
            yield from t.models_in(v)


class Dict(Property):
    """A map from str keys to values of one type: ``Dict(String, Float)``."""

    def __init__(self, key: Property | type, value: Property | type, default: Any = dict, **kw: Any) -> None:
        self.key = _as_prop(key)
        self.value = _as_prop(value)
        super().__init__(default, **kw)
        self.spec = f"map({self.value.spec})"
        self.plain = False
        self.has_refs = self.value.has_refs

    @property
    def default_is_factory(self) -> bool:
        return self._default is not dict and super().default_is_factory

    def default_value(self) -> Any:
        if self._default is dict:
            return {}
        return super().default_value()

    def describe(self) -> str:
        return f"a dict of str to {self.value.describe()}"

    def check(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise Invalid()
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise Invalid(f"key {k!r} is not a str")
            try:
                out[k] = self.value.check(v)
            except Invalid as e:
                raise Invalid(f"value of {k!r} is not {self.value.describe()}" + (f": {e.detail}" if e.detail else "")) from None
        return out

    def to_engine(self, value: Any) -> Any:
        conv = self.value.to_engine
        return {k: conv(v) for k, v in value.items()}

    def from_engine(self, value: Any, doc: Any) -> Any:
        conv = self.value.from_engine
        return {k: conv(v, doc) for k, v in value.items()}

    def wrap(self, owner: Any, value: Any) -> Any:
        if owner is None:
            return value
        return TrackedDict(value, owner, self)

    def models_in(self, value: Any) -> Iterable["Model"]:
        for v in value.values():
            yield from self.value.models_in(v)


# ---------------------------------------------------------------------------------------
# models


class Instance(Property):
    """A reference to a model of a class (given as a class or, for forward references, a
    class name). ``default`` may be a factory such as ``lambda: Selection()``."""

    plain = False
    has_refs = True

    def __init__(self, model: type | str, default: Any = None, *, convert: Callable[[Any], Any] | None = None, **kw: Any) -> None:
        self._model = model
        self.convert = convert
        super().__init__(default, **kw)
        name = model if isinstance(model, str) else model.__name__
        self.type_name = name
        self.spec = f"ref({name})"

    @property
    def model_class(self) -> type:
        if isinstance(self._model, str):
            from docsync.model import model_class

            self._model = model_class(self._model)
        return self._model

    def describe(self) -> str:
        return f"an instance of {self.type_name}"

    def check(self, value: Any) -> Any:
        if self.convert is not None and not isinstance(value, self.model_class):
            value = self.convert(value)
        if isinstance(value, self.model_class):
            return value
        raise Invalid()

    def to_engine(self, value: Any) -> Any:
        return None if value is None else Ref(value._id)

    def from_engine(self, value: Any, doc: Any) -> Any:
        if value is None:
            return None
        return doc._resolve(value.id)

    def models_in(self, value: Any) -> Iterable["Model"]:
        if value is not None:
            yield value


def _as_prop(t: Property | type) -> Property:
    if isinstance(t, Property):
        return t
    if isinstance(t, type) and issubclass(t, Property):
        return t()
    from docsync.model import Model

    if isinstance(t, type) and issubclass(t, Model):
        return Instance(t)
    if t is str:
        return String()
    if t is float:
        return Float()
    if t is int:
        return Int()
    if t is bool:
        return Bool()
    raise TypeError(f"not a property type: {t!r}")


# ---------------------------------------------------------------------------------------
# time


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def to_ms(value: Any) -> float | None:
    """datetime / date / numpy.datetime64 / pandas Timestamp -> ms since the epoch."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return (value - _EPOCH).total_seconds() * 1000.0
    if isinstance(value, _dt.date):
        return (_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc) - _EPOCH).total_seconds() * 1000.0
    if isinstance(value, np.datetime64):
        return float(value.astype("datetime64[us]").astype(np.int64)) / 1000.0
    return None


class Datetime(Property):
    """A point in time: datetime, date, numpy.datetime64 or ms since the epoch. Stored as
    float milliseconds since the epoch (what the browser's Date uses)."""

    spec = "float"
    plain = True
    fast = frozenset({float, int})

    def describe(self) -> str:
        return "a datetime, date, datetime64 or ms since the epoch"

    def check(self, value: Any) -> Any:
        ms = to_ms(value)
        if ms is not None:
            return ms
        return Float.check(self, value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# columns


class ColumnData(Property):
    """The columns of a ColumnDataSource: a mapping of name -> numpy array or list."""

    spec = "columns"
    plain = False

    def __init__(self, default: Any = dict, **kw: Any) -> None:
        super().__init__(default, **kw)

    @property
    def default_is_factory(self) -> bool:
        return False

    def default_value(self) -> Any:
        return {}

    def describe(self) -> str:
        return "a dict of column name to array or list"

    def check(self, value: Any) -> Any:
        if _is_dataframe(value):
            return dataframe_columns(value)
        if not isinstance(value, Mapping):
            raise Invalid()
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise Invalid(f"column name {k!r} is not a str")
            try:
                out[k] = column_value(v)
            except TypeError as e:
                raise Invalid(f"column {k!r}: {e}") from None
        return out

    def to_engine(self, value: Any) -> Any:
        return dict(value)

    def from_engine(self, value: Any, doc: Any) -> Any:
        return value

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        from docsync.models.sources import ColumnDataView

        return ColumnDataView(obj, self.name)


def _is_dataframe(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and type(value).__name__ == "DataFrame"


_NUMERIC_KINDS = frozenset("biuf")


def column_value(v: Any) -> Any:
    """Normalise one column: numpy arrays of numeric/bool/datetime dtype stay arrays
    (datetime64 becomes datetime64[ms]); string/object arrays and other sequences become
    lists; pandas Series become arrays or lists."""
    if _is_pandas_series(v):
        v = v.to_numpy()
    if isinstance(v, np.ndarray):
        kind = v.dtype.kind
        if kind in _NUMERIC_KINDS:
            if v.dtype.byteorder == ">":
                v = v.astype(v.dtype.newbyteorder("="))
            if kind == "f" and v.dtype.itemsize == 2:
                v = v.astype(np.float32)
            return v
        if kind == "M":
            return v.astype("datetime64[ms]")
        if kind == "m":
            return (v / np.timedelta64(1, "ms")).astype(np.float64)
        return [_py_scalar(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_py_scalar(x) for x in v]
    if isinstance(v, range):
        return list(v)
    raise TypeError(f"expected a numpy array, list or pandas Series, got {type(v).__name__}")


def _py_scalar(x: Any) -> Any:
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, (_dt.datetime, _dt.date)):
        return to_ms(x)
    if isinstance(x, tuple):
        return [_py_scalar(i) for i in x]
    if isinstance(x, np.ndarray) and x.dtype.kind not in _NUMERIC_KINDS:
        return [_py_scalar(i) for i in x.tolist()]
    return x


def dataframe_columns(df: Any) -> dict[str, Any]:
    """Columns of a pandas DataFrame plus its index (as ``index`` or the index's name),
    the way Bokeh's ColumnDataSource takes a DataFrame."""
    out: dict[str, Any] = {}
    for col in df.columns:
        name = "_".join(str(c) for c in col) if isinstance(col, tuple) else str(col)
        out[name] = column_value(df[col])
    index = df.index
    index_name = index.name if index.name is not None else "index"
    if index_name not in out:
        out[str(index_name)] = column_value(index.to_numpy())
    return out


# ---------------------------------------------------------------------------------------
# data specs


def field(name: str) -> dict[str, str]:
    """``{"field": name}``: the spec takes its values from a column."""
    return {"field": name}


def value(v: Any) -> dict[str, Any]:
    """``{"value": v}``: the same value for every row."""
    return {"value": v}


class DataSpec(Property):
    """A glyph property that is either a plain value (the same for every row) or
    ``{"field": column}``. A str is a field name, except where ``str_is_value`` says
    otherwise (a color spec treats valid colors as values)."""

    plain = False

    def __init__(self, value_type: Property, default: Any = None, **kw: Any) -> None:
        self.value_type = value_type
        super().__init__(default, **kw)
        self.spec = f"either({self.value_type.spec}|map(any))"
        # numbers (and None) go to the engine as they are; strings may be fields
        self.fast = frozenset(t for t in self.value_type.fast if t is not str)

    def describe(self) -> str:
        return f"{self.value_type.describe()}, a column name, or a field()/value() dict"

    def str_is_value(self, s: str) -> bool:
        return False

    def check(self, value: Any) -> Any:
        if isinstance(value, str) and not self.str_is_value(value):
            return {"field": value}
        if isinstance(value, dict):
            if "field" in value and isinstance(value["field"], str):
                return dict(value)
            if "value" in value:
                return {**value, "value": self.value_type.check(value["value"])}
            raise Invalid('a spec dict needs "field" or "value"')
        return self.value_type.check(value)

    def to_engine(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "value" in value:
                return {**value, "value": self.value_type.to_engine(value["value"])}
            return value
        return self.value_type.to_engine(value)

    def from_engine(self, value: Any, doc: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and "field" in value:
                return value["field"]
            if len(value) == 1 and "value" in value:
                return self.value_type.from_engine(value["value"], doc)
            return value
        return self.value_type.from_engine(value, doc)

    def wrap(self, owner: Any, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            if "field" in value:
                return value["field"]
            if "value" in value:
                return value["value"]
        return value


class NumberSpec(DataSpec):
    def __init__(self, default: Any = None, **kw: Any) -> None:
        super().__init__(Nullable(Float()) if default is None else Float(), default, **kw)


NullNumberSpec = NumberSpec
AngleSpec = NumberSpec


class AlphaSpec(DataSpec):
    def __init__(self, default: Any = 1.0, **kw: Any) -> None:
        super().__init__(Float(), default, **kw)


class StringSpec(DataSpec):
    """Text: a str names a column (as in Bokeh); use ``value("text")`` for a constant."""

    def __init__(self, default: Any = None, **kw: Any) -> None:
        super().__init__(Nullable(String()), default, **kw)


class ColorSpec(DataSpec):
    """A color spec: valid colors are values, other strings name columns."""

    def __init__(self, default: Any = "black", **kw: Any) -> None:
        super().__init__(Nullable(Color()), default, **kw)

    def str_is_value(self, s: str) -> bool:
        return is_color(s)

    def check(self, value: Any) -> Any:
        if isinstance(value, tuple) and _color_tuple_ok(value):
            return self.value_type.check(value)
        return super().check(value)


# ---------------------------------------------------------------------------------------
# tracked containers


class TrackedList(list):  # type: ignore[type-arg]
    """A list handed out by a List property; in-place changes are written back to the
    model (and so recorded and synced), firing ``on_change`` with the old contents."""

    __slots__ = ("_owner", "_prop")

    def __init__(self, items: Iterable[Any], owner: Any, prop: Property) -> None:
        super().__init__(items)
        self._owner = owner
        self._prop = prop

    def _changed(self) -> None:
        self._owner._set_property(self._prop, list(self))

    def _mutator(name: str) -> Callable[..., Any]:  # type: ignore[misc]
        base = getattr(list, name)

        def method(self: "TrackedList", *args: Any, **kw: Any) -> Any:
            result = base(self, *args, **kw)
            self._changed()
            return result

        method.__name__ = name
        return method

    append = _mutator("append")
    extend = _mutator("extend")
    insert = _mutator("insert")
    pop = _mutator("pop")
    remove = _mutator("remove")
    reverse = _mutator("reverse")
    sort = _mutator("sort")
    clear = _mutator("clear")
    __setitem__ = _mutator("__setitem__")
    __delitem__ = _mutator("__delitem__")

    def __iadd__(self, other: Iterable[Any]) -> "TrackedList":  # type: ignore[override,misc]
        self.extend(other)
        return self

    def __imul__(self, n: int) -> "TrackedList":  # type: ignore[override,misc]
        list.__imul__(self, n)
        self._changed()
        return self

    def __reduce__(self) -> Any:
        return (list, (list(self),))

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: Any) -> list[Any]:
        import copy

        return copy.deepcopy(list(self), memo)

    del _mutator


class TrackedDict(dict):  # type: ignore[type-arg]
    """A dict handed out by a Dict property; in-place changes are written back."""

    __slots__ = ("_owner", "_prop")

    def __init__(self, items: Mapping[str, Any], owner: Any, prop: Property) -> None:
        super().__init__(items)
        self._owner = owner
        self._prop = prop

    def _changed(self) -> None:
        self._owner._set_property(self._prop, dict(self))

    def __setitem__(self, k: str, v: Any) -> None:
        dict.__setitem__(self, k, v)
        self._changed()

    def __delitem__(self, k: str) -> None:
        dict.__delitem__(self, k)
        self._changed()

    def update(self, *a: Any, **kw: Any) -> None:  # type: ignore[override]
        dict.update(self, *a, **kw)
        self._changed()

    def pop(self, *a: Any) -> Any:  # type: ignore[override]
        r = dict.pop(self, *a)
        self._changed()
        return r

    def setdefault(self, k: str, d: Any = None) -> Any:  # type: ignore[override]
        r = dict.setdefault(self, k, d)
        self._changed()
        return r

    def clear(self) -> None:
        dict.clear(self)
        self._changed()

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))

    def __copy__(self) -> dict[str, Any]:
        return dict(self)


def finite(x: float) -> bool:
    return math.isfinite(x)
