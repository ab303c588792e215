"""Writes seed replies for the `reply` target into corpus/reply/ (not in git): one flag byte
(bit 0: --compact), then AS_MSG messages as a node sends them in a scan reply."""

from __future__ import annotations

import struct
from pathlib import Path


def field(kind: int, data: bytes) -> bytes:
    return struct.pack(">IB", len(data) + 1, kind) + data


def op(name: bytes, ptype: int, value: bytes) -> bytes:
    return struct.pack(">IBBBB", 4 + len(name) + len(value), 1, ptype, 0, len(name)) + name + value


def msg(fields: list[bytes], ops: list[bytes], *, info3: int = 0, rc: int = 0, gen: int = 1, void: int = 0) -> bytes:
    head = struct.pack(">BBBBBBIIIHH", 22, 0, 0, info3, 0, rc, gen, void, 0, len(fields), len(ops))
    return head + b"".join(fields) + b"".join(ops)


def digest(pid: int, n: int) -> bytes:
    return struct.pack("<H", pid) + bytes([n]) * 18


geo = b"\x00\x00\x01" + b"\x80\x8f\xb8\xa2\x47\x95\x43\x93" + b'{"type":"Point","coordinates":[1,2]}'
bins = [
    op(b"i", 1, struct.pack(">q", -7)), op(b"d", 2, struct.pack(">d", 2.5)), op(b"s", 3, b"a b\nc"),
    op(b"b", 4, b"\x00\xff"), op(b"p", 9, b"pk"), op(b"z", 17, b"\x01"), op(b"ol", 20, bytes.fromhex("94c70001010203")),
    op(b"m", 19, bytes.fromhex("83c70003c0a2036102a2037a01")), op(b"g", 23, geo), op(b"h", 18, b"\x01\x02\x03"),
    op(b"sp ace", 3, b"x"), op(b"n", 0, b""),
]
seeds = {
    "records": msg([field(0, b"test"), field(4, digest(5, 1)), field(1, b"s1"), field(2, b"\x03user-1")], bins, void=541665843)
    + msg([field(0, b"test"), field(4, digest(5, 2)), field(2, b"\x01" + struct.pack(">q", 42))], [])
    + msg([field(0, b"test"), field(4, digest(7, 3)), field(2, b"\x04\x00\x01")], [op(b"b", 4, b"xy")])
    + msg([], [], info3=4, rc=11, gen=9) + msg([], [], info3=1),
    "no_bins": msg([field(0, b"bar"), field(4, digest(1, 9))], [], gen=65535) + msg([], [], info3=1),
    "error": msg([], [], rc=4),
}
out = Path(__file__).parent / "corpus" / "reply"
out.mkdir(parents=True, exist_ok=True)
for name, body in seeds.items():
    for flag in (0, 1):
        (out / f"{name}-{flag}").write_bytes(bytes([flag]) + body)
print(f"{len(seeds) * 2} seeds in {out}")
