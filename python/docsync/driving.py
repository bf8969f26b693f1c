"""Decorators that feed a periodic callback a sequence of values, as in Bokeh:

    @cosine(w=0.03)
    def update(step):
        r.glyph.line_alpha = 1 - 0.8 * abs(step)

    curdoc().add_periodic_callback(update, 50)   # update() now takes no arguments
"""

from __future__ import annotations

import functools
from math import cos, sin
from typing import Any, Callable, Iterator, Sequence

__all__ = ["bounce", "cosine", "count", "force", "linear", "repeat", "sine"]


def _advance(f: Callable[[int], Any]) -> Iterator[Any]:
    i = 0
    while True:
        yield f(i)
        i += 1


def force(f: Callable[[Any], Any], sequence: Iterator[Any]) -> Callable[[], None]:
    """Wrap ``f`` so that each call feeds it the next value of ``sequence``."""

    @functools.wraps(f)
    def wrapper() -> None:
        f(next(sequence))

    # the wrapper takes no arguments whatever f's signature says
    wrapper.__signature__ = __import__("inspect").Signature()  # type: ignore[attr-defined]
    return wrapper


def _driver(f: Callable[[int], Any]) -> Callable[[Callable[[Any], Any]], Callable[[], None]]:
    return lambda func: force(func, _advance(f))


def bounce(sequence: Sequence[Any]) -> Callable[[Callable[[Any], Any]], Callable[[], None]]:
    """0, 1, 2, 2, 1, 0, 0, 1, ... over ``sequence``: forwards, then backwards."""
    n = len(sequence)

    def f(i: int) -> Any:
        div, mod = divmod(i, n)
        return sequence[n - mod - 1] if div % 2 else sequence[mod]

    return _driver(f)


def cosine(w: float, A: float = 1, phi: float = 0, offset: float = 0) -> Callable[[Callable[[Any], Any]], Callable[[], None]]:
    """``A * cos(w * i + phi) + offset`` for i = 0, 1, 2, ..."""
    return _driver(lambda i: A * cos(w * i + phi) + offset)


def count() -> Callable[[Callable[[Any], Any]], Callable[[], None]]:
    """0, 1, 2, ..."""
    return _driver(lambda i: i)


def linear(m: float = 1, b: float = 0) -> Callable[[Callable[[Any], Any]], Callable[[], None]]:
    """``m * i + b`` for i = 0, 1, 2, ..."""
    return _driver(lambda i: m * i + b)


def repeat(sequence: Sequence[Any]) -> Callable[[Callable[[Any], Any]], Callable[[], None]]:
    """``sequence`` over and over."""
    n = len(sequence)
    return _driver(lambda i: sequence[i % n])


def sine(w: float, A: float = 1, phi: float = 0, offset: float = 0) -> Callable[[Callable[[Any], Any]], Callable[[], None]]:
    """``A * sin(w * i + phi) + offset`` for i = 0, 1, 2, ..."""
    return _driver(lambda i: A * sin(w * i + phi) + offset)
