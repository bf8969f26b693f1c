"""The msgpack codec through the Python API: golden vectors (checked by docsync and by
msgpack-python as an independent oracle), round trips, limits, bad input, numpy views."""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import pickle
import struct
import sys
import threading
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docsync import errors
from docsync.core import (
    PROTOCOL_VERSION,
    ColumnArray,
    Message,
    Ref,
    decode,
    decode_message,
    encode,
    encode_message,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import make_golden  # noqa: E402

settings.register_profile("fast", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("slow", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "datetime64[ms]",
]


# ------------------------------------------------------------------ helpers


def same(a: Any, b: Any) -> bool:
    """Deep equality: NaN == NaN, -0.0 != 0.0, arrays by dtype, shape and bits."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return (
            a.dtype == b.dtype
            and a.shape == b.shape
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
        )
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def to_docsync(v: Any) -> Any:
    """make_golden's values with docsync Refs."""
    if isinstance(v, make_golden.Ref):
        return Ref(v.id)
    if isinstance(v, list):
        return [to_docsync(x) for x in v]
    if isinstance(v, dict):
        return {k: to_docsync(x) for k, x in v.items()}
    return v


GOLDEN = make_golden.cases()


def oracle_decode(data: bytes) -> Any:
    """msgpack-python, with the two ext types decoded by hand from the spec."""

    def ext_hook(code: int, payload: bytes) -> Any:
        if code == 1:
            return Ref(payload.decode("utf-8"))
        assert code == 2, code
        dtype_name = [k for k, v in make_golden.DTYPE_CODES.items() if v == payload[0]][0]
        ndim = payload[1]
        assert 1 <= ndim <= 8
        shape = struct.unpack(f"<{ndim}I", payload[2 : 2 + 4 * ndim])
        pad = payload[2 + 4 * ndim]
        assert pad <= 7
        start = 3 + 4 * ndim + pad
        assert payload[3 + 4 * ndim : start] == bytes(pad)
        dt = np.dtype(dtype_name).newbyteorder("<")
        assert len(payload) - start == math.prod(shape) * dt.itemsize
        # the data starts at a multiple of 8 of the whole message
        at = data.find(payload)
        assert at >= 0 and (at + start) % 8 == 0, (at, start)
        # ext 32 framing: 0xc9, u32 BE length, type 2
        assert data[at - 6] == 0xC9 and struct.unpack(">I", data[at - 5 : at - 1])[0] == len(payload)
        return np.frombuffer(payload[start:], dtype=dt).astype(dtype_name).reshape(shape)

    return msgpack.unpackb(data, ext_hook=ext_hook, raw=False, strict_map_key=True)


# ------------------------------------------------------------------ golden vectors


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_decodes_with_docsync(name: str) -> None:
    data = (FIXTURES / f"{name}.msgpack").read_bytes()
    assert same(decode(data), to_docsync(GOLDEN[name]))


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_decodes_with_msgpack_oracle(name: str) -> None:
    data = (FIXTURES / f"{name}.msgpack").read_bytes()
    assert same(oracle_decode(data), to_docsync(GOLDEN[name]))


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_docsync_encodes_the_golden_bytes(name: str) -> None:
    data = (FIXTURES / f"{name}.msgpack").read_bytes()
    assert encode(to_docsync(GOLDEN[name])) == data


def test_golden_files_are_up_to_date() -> None:
    for name, value in GOLDEN.items():
        assert (FIXTURES / f"{name}.msgpack").read_bytes() == make_golden.encode(value), name
    expected = json.loads((FIXTURES / "expected.json").read_text())
    assert set(expected) == set(GOLDEN)


def test_golden_envelopes_decode_as_messages() -> None:
    m = decode_message((FIXTURES / "patch_message.msgpack").read_bytes())
    assert (m.type, m.seq, m.ack) == ("patch", 1, None)
    assert [e["k"] for e in m.payload["events"]] == ["set", "stream", "patch", "root+", "msg"]
    snap = decode_message((FIXTURES / "snapshot_message.msgpack").read_bytes())
    assert snap.type == "snapshot" and snap.snapshot is not None
    assert same(decode(snap.snapshot), snap.payload)
    ping = decode_message((FIXTURES / "envelope.msgpack").read_bytes())
    assert (ping.type, ping.seq, ping.payload, ping.patch, ping.snapshot) == ("ping", 5, None, None, None)


# ------------------------------------------------------------------ round trips


def arrays() -> st.SearchStrategy[np.ndarray]:
    def build(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        n = math.prod(shape)
        if dtype == "bool":
            return rng.integers(0, 2, n).astype(bool).reshape(shape)
        if dtype.startswith("float"):
            raw = rng.integers(0, 256, n * np.dtype(dtype).itemsize, dtype=np.uint8)
            return raw.view(dtype).reshape(shape)  # any bit pattern, NaN payloads included
        if dtype == "datetime64[ms]":
            return rng.integers(-(2**62), 2**62, n).astype("datetime64[ms]").reshape(shape)
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True).reshape(shape)

    shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)
    return st.builds(build, st.sampled_from(DTYPES), shapes, st.integers(0, 2**32))


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.binary()
    | st.builds(Ref, st.text(min_size=1))
)
values = st.recursive(
    scalars | arrays(),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=30,
)


@given(values)
def test_round_trip(v: Any) -> None:
    data = encode(v)
    assert same(decode(data), v)
    assert same(oracle_decode(data), v)


@given(st.binary(max_size=200))
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        decode(data)
    except errors.DecodeError:
        pass


@given(values, st.data())
def test_truncated_and_mutated_bytes_never_crash(v: Any, data: st.DataObject) -> None:
    full = encode(v)
    cut = data.draw(st.integers(0, len(full) - 1))
    with pytest.raises(errors.DecodeError):
        decode(full[:cut])
    i = data.draw(st.integers(0, len(full) - 1))
    mutated = full[:i] + bytes([data.draw(st.integers(0, 255))]) + full[i + 1 :]
    try:
        decode(mutated)
    except errors.DecodeError:
        pass


def test_every_truncation_of_a_message_is_a_decode_error() -> None:
    full = (FIXTURES / "snapshot_message.msgpack").read_bytes()
    for n in range(len(full)):
        with pytest.raises(errors.DecodeError):
            decode(full[:n])


def test_tuples_become_lists_and_numpy_scalars_convert() -> None:
    assert decode(encode((1, (2.5, "a")))) == [1, [2.5, "a"]]
    got = decode(encode([np.float32(1.5), np.int16(-3), np.bool_(True), np.uint64(7), np.array(4.0)]))
    assert got == [1.5, -3, True, 7, 4.0]
    assert decode(encode(np.datetime64("1970-01-01T00:00:01", "s"))) == 1000


def test_bytearray_input_and_output() -> None:
    assert decode(bytearray(encode({"a": b"\x00"}))) == {"a": b"\x00"}  # type: ignore[arg-type]
    assert decode(memoryview(encode([1]))) == [1]  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        decode("not bytes")  # type: ignore[arg-type]


def test_floats_are_always_float64_and_ints_smallest() -> None:
    assert encode(1.0) == b"\xcb" + struct.pack(">d", 1.0)
    assert encode(-0.0) == b"\xcb" + struct.pack(">d", -0.0)
    assert encode(5) == b"\x05"
    assert encode(-1) == b"\xff"
    assert encode(200) == b"\xcc\xc8"
    assert encode(2**63 - 1) == b"\xcf" + struct.pack(">Q", 2**63 - 1)


# ------------------------------------------------------------------ numpy in


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype(dtype: str) -> None:
    a = np.arange(12).astype(dtype).reshape(3, 4) if dtype != "bool" else (np.arange(12) % 2 == 0).reshape(3, 4)
    got = decode(encode(a))
    assert got.dtype == np.dtype(dtype) and got.shape == (3, 4)
    assert np.array_equal(got, a)


def test_non_contiguous_arrays_are_copied_once() -> None:
    base = np.arange(20.0).reshape(4, 5)
    for a in (base[::2], base.T, base[:, 1], np.asfortranarray(base)):
        assert np.array_equal(decode(encode(a)), a)


def test_other_datetime_units_convert_to_ms() -> None:
    a = np.array(["2024-01-01T00:00:01", "NaT"], dtype="datetime64[s]")
    got = decode(encode(a))
    assert got.dtype == np.dtype("datetime64[ms]")
    assert got[0] == np.datetime64("2024-01-01T00:00:01.000") and np.isnat(got[1])
    ns = np.array([1_500_000], dtype="datetime64[ns]")
    assert decode(encode(ns)).view("int64").tolist() == [1]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (np.array([object(), 1], dtype=object), "tolist"),
        (np.arange(3, dtype=">f8"), "newbyteorder"),
        (np.arange(3, dtype="float16"), "astype"),
        (np.array(["a", "b"]), "tolist"),
        (np.array(["NaT"], dtype="datetime64"), r"datetime64\[ms\]"),
        (np.array([1 + 2j]), "supported"),
        (np.zeros((1,) * 9), "dimensions"),
        (2**64, "64 bits"),
        (-(2**63) - 1, "64 bits"),
        ({1: "a"}, "keys must be str"),
        (object(), "cannot encode"),
        ({1.5}, "cannot encode"),
    ],
)
def test_unencodable_values_raise_encode_error_with_hint(value: Any, hint: str) -> None:
    with pytest.raises(errors.EncodeError, match=hint):
        encode(value)
    with pytest.raises(TypeError):  # EncodeError is a TypeError too
        encode([value])


def test_self_referencing_list_is_an_error_not_a_crash() -> None:
    a: list[Any] = []
    a.append(a)
    with pytest.raises(errors.EncodeError, match="nested"):
        encode(a)


# ------------------------------------------------------------------ numpy out


def test_decoded_arrays_are_read_only_views_with_a_hint() -> None:
    got = decode(encode({"x": np.arange(4.0)}))["x"]
    assert isinstance(got, ColumnArray) and not got.flags.writeable
    for write in (
        lambda: got.__setitem__(0, 1.0),
        lambda: got.__setitem__(slice(None), 1.0),
        lambda: np.add(got, 1, out=got),
    ):
        with pytest.raises(errors.ColumnError, match="stream"):
            write()
    with pytest.raises(ValueError):
        got += 1
    with pytest.raises(ValueError):
        got.sort()
    # arithmetic gives plain writable arrays; copies are writable
    doubled = got * 2
    assert type(doubled) is np.ndarray and doubled.flags.writeable
    c = got.copy()
    c[0] = 42.0
    assert got[0] == 0.0
    assert pickle.loads(pickle.dumps(got)).tolist() == got.tolist()


def test_decoding_bytes_is_zero_copy_and_views_outlive_the_bytes() -> None:
    data = encode([np.arange(1000.0)])
    base = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    assert base is not None
    arr = decode(data)[0]
    addr = arr.__array_interface__["data"][0]
    assert base <= addr < base + len(data), "the array views the message bytes"
    assert addr % 8 == 0
    del data
    gc.collect()
    assert arr.tolist() == list(np.arange(1000.0))


def test_empty_arrays() -> None:
    for a in (np.zeros(0), np.zeros((0, 3), dtype="int32"), np.zeros((2, 0), dtype=bool)):
        got = decode(encode(a))
        assert got.shape == a.shape and got.dtype == a.dtype and not got.flags.writeable


# ------------------------------------------------------------------ limits and bad input


def test_size_limit() -> None:
    data = encode("x" * 1000)
    assert decode(data, max_size=len(data)) == "x" * 1000
    with pytest.raises(errors.LimitError, match="exceeds"):
        decode(data, max_size=len(data) - 1)
    with pytest.raises(errors.LimitError):
        decode_message(encode_message("patch", payload="x" * 1000), max_size=100)


def test_depth_limit_and_nesting_bombs() -> None:
    nested: Any = 1
    for _ in range(64):
        nested = [nested]
    data = encode(nested)
    with pytest.raises(errors.LimitError, match="nesting"):
        decode(data)
    assert same(decode(data, max_depth=65), nested)
    bomb = b"\x91" * 1_000_000 + b"\xc0"
    with pytest.raises(errors.LimitError):
        decode(bomb)
    with pytest.raises(errors.LimitError):
        decode(b"\x81\xa1a" * 100_000 + b"\xc0")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        b"\x01\x02",  # trailing bytes
        b"\xdd\xff\xff\xff\xff",  # 4 G items announced, none present
        b"\xdf\xff\xff\xff\xff",
        b"\xdb\xff\xff\xff\xffabc",
        b"\xc6\xff\xff\xff\xff",
        b"\xc9\xff\xff\xff\xff\x02",
        b"\x81\x01\x02",  # int key
        b"\x82\xa1a\x01\xa1a\x02",  # duplicate key
        b"\xa2\xff\xfe",  # invalid UTF-8
        b"\xd4\x07\x00",  # unknown ext type
        b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff",  # > i64
    ],
)
def test_malformed_bytes(data: bytes) -> None:
    with pytest.raises(errors.DecodeError):
        decode(data)
    with pytest.raises(ValueError):  # DecodeError is a ValueError too
        decode(data)


def _array_bytes(mutate: Any) -> bytes:
    good = bytearray(encode(np.arange(2.0)))
    mutate(good)
    return bytes(good)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda b: b.__setitem__(6, 12), "dtype"),
        (lambda b: b.__setitem__(7, 0), "ndim"),
        (lambda b: b.__setitem__(7, 9), "ndim"),
        (lambda b: b.__setitem__(8, 3), "data bytes"),
        (lambda b: b.__setitem__(12, 8), "pad"),
    ],
)
def test_bad_typed_arrays(mutate: Any, match: str) -> None:
    with pytest.raises(errors.DecodeError, match=match):
        decode(_array_bytes(mutate))


def test_nonzero_pad_and_bad_bools() -> None:
    data = bytearray(encode(np.arange(2.0)))
    pad = data[12]
    assert pad > 0
    data[13] = 1
    with pytest.raises(errors.DecodeError, match="zero"):
        decode(bytes(data))
    b = bytearray(encode(np.array([True])))
    b[-1] = 2
    with pytest.raises(errors.DecodeError, match="bool"):
        decode(bytes(b))


# ------------------------------------------------------------------ envelopes


def test_message_round_trip() -> None:
    data = encode_message("patch", seq=7, ack=3, payload={"events": []})
    assert msgpack.unpackb(data) == {"v": 1, "t": "patch", "seq": 7, "ack": 3, "p": {"events": []}}
    m = decode_message(data)
    assert isinstance(m, Message)
    assert (m.type, m.seq, m.ack, m.payload) == ("patch", 7, 3, {"events": []})
    assert m.patch is not None and len(m.patch) == 0
    assert PROTOCOL_VERSION == 1


def test_message_without_payload_omits_p() -> None:
    data = encode_message("ping", seq=1)
    assert msgpack.unpackb(data) == {"v": 1, "t": "ping", "seq": 1}
    m = decode_message(data)
    assert (m.payload, m.ack, m.patch, m.snapshot) == (None, None, None, None)


def test_hello_push_snapshot() -> None:
    push = {"title": "t", "version": 0, "roots": [], "models": [], "defaults": {}}
    m = decode_message(encode_message("hello", payload={"client_id": "c", "resume": None, "push": push}))
    assert m.snapshot is not None and decode(m.snapshot) == push
    m2 = decode_message(encode_message("hello", payload={"client_id": "c", "resume": 3, "push": None}))
    assert m2.snapshot is None


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([1, 2], "map"),
        ({"t": "ping"}, "version"),
        ({"v": 2, "t": "ping"}, "version 2"),
        ({"v": "1", "t": "ping"}, "'v'"),
        ({"v": 1}, "type"),
        ({"v": 1, "t": 5}, "'t'"),
        ({"v": 1, "t": "ping", "seq": "x"}, "'seq'"),
        ({"v": 1, "t": "ping", "ack": 1.5}, "'ack'"),
    ],
)
def test_bad_envelopes_are_protocol_errors(value: Any, match: str) -> None:
    with pytest.raises(errors.ProtocolError, match=match):
        decode_message(encode(value))


def test_unknown_envelope_keys_are_ignored() -> None:
    m = decode_message(encode({"v": 1, "t": "ok", "seq": None, "future": [1, 2], "ack": 4}))
    assert (m.type, m.seq, m.ack) == ("ok", None, 4)


# ------------------------------------------------------------------ Ref


def test_ref() -> None:
    r = Ref("p1")
    assert r.id == "p1" and r == Ref("p1") and r != Ref("p2") and r != "p1"
    assert hash(r) == hash(Ref("p1")) and len({r, Ref("p1"), Ref("p2")}) == 2
    assert repr(r) == 'Ref("p1")'
    assert pickle.loads(pickle.dumps(r)) == r


# ------------------------------------------------------------------ GIL


def test_large_encodes_and_decodes_from_threads() -> None:
    big = {"x": np.random.default_rng(0).random(500_000), "y": np.arange(500_000)}
    data = encode(big)
    results: list[bool] = []

    def work() -> None:
        for _ in range(3):
            d = decode(data)
            results.append(np.array_equal(d["x"], big["x"]) and encode(d) == data)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [True] * 12


def test_requested_depth_is_capped_without_crashing() -> None:
    ok = b"\x91" * 400 + b"\xc0"
    got = decode(ok, max_depth=10**9)
    for _ in range(400):
        got = got[0]
    assert got is None
    with pytest.raises(errors.LimitError):
        decode(b"\x91" * 100_000 + b"\xc0", max_depth=10**9)


def test_datetimes_encode_as_float_ms_like_bokeh() -> None:
    import datetime as dt

    assert decode(encode(dt.datetime(1970, 1, 1, 0, 0, 1, 500))) == 1000.5
    assert decode(encode(dt.datetime(1970, 1, 2, tzinfo=dt.timezone.utc))) == 86_400_000.0
    assert decode(encode(dt.datetime(1970, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))))) == 0.0
    assert decode(encode(dt.date(1970, 1, 3))) == 2 * 86_400_000.0


def test_bool_arrays_with_odd_bytes_are_normalised() -> None:
    odd = np.array([0, 2, 255], dtype=np.uint8).view(bool)
    assert decode(encode(odd)).tolist() == [False, True, True]


def test_encode_reads_numpy_memory_in_place_and_lets_go_of_it() -> None:
    for n in (10, 100_000):  # below and above the large-payload threshold
        a = np.arange(float(n))
        data = encode({"a": a})
        a.resize(2 * n, refcheck=False)  # fails while a buffer export is still held
        assert np.array_equal(decode(data)["a"], np.arange(float(n)))
    with pytest.raises(errors.EncodeError):
        encode([np.arange(3.0), object()])  # arrays converted before the error are released
