"""Random records: written, read back equal, and the written text is a fixed point."""

from __future__ import annotations

import io
import math
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asbkit import Bin, Header, Key, Record, _codec

BLOB_LETTERS = "BJCPRHEYML"


def text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Arbitrary bytes but NUL (the C tools cannot carry it in names), shown as the API
    shows them: str with surrogate escapes."""
    return st.binary(min_size=min_size, max_size=max_size).map(
        lambda b: b.replace(b"\0", b"\1").decode("utf-8", "surrogateescape")
    )


doubles = st.floats(allow_nan=True, allow_infinity=True)

bins = st.one_of(
    st.builds(lambda n: Bin(n, "N", None), text(15)),
    st.builds(lambda n, v: Bin(n, "Z", v), text(15), st.booleans()),
    st.builds(lambda n, v: Bin(n, "I", v), text(15), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda n, v: Bin(n, "D", v), text(15), doubles),
    st.builds(lambda n, t, v: Bin(n, t, v), text(15), st.sampled_from("SG"), text(60)),
    st.builds(
        lambda n, t, v, c: Bin(n, t, v, c), text(15), st.sampled_from(BLOB_LETTERS), st.binary(max_size=60), st.booleans()
    ),
)

keys = st.one_of(
    st.none(),
    st.builds(lambda v: Key("I", v), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: Key("D", v), doubles),
    st.builds(lambda v: Key("S", v), text(40)),
    st.builds(lambda v, c: Key("B", v, c), st.binary(max_size=40), st.booleans()),
)

records = st.builds(
    lambda ns, digest, bs, s, k, g, t: Record(ns, digest, bs, set=s, key=k, generation=g, void_time=t),
    text(31),
    st.binary(min_size=20, max_size=20),
    st.lists(bins, max_size=6),
    st.one_of(st.none(), text(63)),
    keys,
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
)


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a):
            return math.isnan(b) and math.copysign(1, a) == math.copysign(1, b)
        return struct.pack(">d", a) == struct.pack(">d", b)
    return type(a) is type(b) and a == b


def write(header: Header, entities: list[Any]) -> bytes:
    out = io.BytesIO()
    w = _codec.Writer(out, header)
    for e in entities:
        w.write(e)
    w.close()
    return out.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, max_size=5), text(31).map(lambda s: s.replace("\n", "_")), st.booleans())
def test_records_round_trip(recs: list[Record], namespace: str, first_file: bool) -> None:
    data = write(Header(namespace, first_file), recs)
    reader = _codec.Reader(io.BytesIO(data))
    assert reader.header.namespace == namespace and reader.header.first_file == first_file
    back = list(reader)
    assert len(back) == len(recs)
    for a, b in zip(recs, back):
        assert (a.namespace, a.set, a.digest, a.generation, a.void_time) == (
            b.namespace, b.set, b.digest, b.generation, b.void_time,
        )
        assert (a.key is None) == (b.key is None)
        if a.key is not None:
            assert (a.key.type, a.key.compact) == (b.key.type, b.key.compact)
            assert same_value(a.key.value, b.key.value)
        assert [(x.name, x.type, x.compact) for x in a.bins] == [(y.name, y.type, y.compact) for y in b.bins]
        assert all(same_value(x.value, y.value) for x, y in zip(a.bins, b.bins))
    # Whatever the writer produced reads and writes back to the same bytes.
    assert write(reader.header, back) == data


@settings(max_examples=50, deadline=None)
@given(st.lists(records, min_size=1, max_size=20), st.sampled_from([None, "zstd"]), st.sampled_from([None, "aes128", "aes256"]))
def test_layers_round_trip(recs: list[Record], compress: str | None, cipher: str | None) -> None:
    material = b"key material" if cipher else None
    plain = write(Header("ns", True), recs)
    out = io.BytesIO()
    w = _codec.Writer(out, Header("ns", True), zstd=compress == "zstd", cipher=cipher, key_material=material)
    for r in recs:
        w.write(r)
    w.close()
    reader = _codec.Reader(io.BytesIO(out.getvalue()), zstd=compress == "zstd", cipher=cipher, key_material=material)
    assert write(reader.header, list(reader)) == plain
