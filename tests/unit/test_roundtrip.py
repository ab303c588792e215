"""Random records: written, read back equal, and the written text is a fixed point."""

from __future__ import annotations

import io
import math
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asbkit import BackupReader, BackupWriter, Header, Record, _codec

from ..helpers.records import bins, doubles, keys, records, text  # noqa: F401


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a):
            return math.isnan(b) and math.copysign(1, a) == math.copysign(1, b)
        return struct.pack(">d", a) == struct.pack(">d", b)
    return type(a) is type(b) and a == b


def write(header: Header, entities: list[Any]) -> bytes:
    out = io.BytesIO()
    w = BackupWriter(out, header=header)
    for e in entities:
        w.write(e)
    w.close()
    return out.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, max_size=5), text(31).map(lambda s: s.replace("\n", "_")), st.booleans())
def test_records_round_trip(recs: list[Record], namespace: str, first_file: bool) -> None:
    data = write(Header(namespace, first_file), recs)
    reader = BackupReader(io.BytesIO(data))
    back = list(reader)
    assert reader.header is not None
    assert reader.header.namespace == namespace and reader.header.first_file == first_file
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
    layers: Any = {"zstd": compress == "zstd", "level": 0, "encryption": (cipher, b"key material") if cipher else None}
    plain = write(Header("ns", True), recs)
    out = io.BytesIO()
    w = _codec.Writer(out, Header("ns", True), layers=layers)
    for r in recs:
        w.write(r)
    w.close()
    reader = _codec.Reader(io.BytesIO(out.getvalue()), layers=layers)
    assert write(reader.header, list(reader)) == plain
