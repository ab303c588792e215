"""Filter expressions as asbackup builds them: packed msgpack calls
`[op, args...]`, strings with the server's leading particle-type byte."""

from __future__ import annotations

import datetime as _dt
import struct

EQ, GE, LT = 1, 4, 5
AND, OR = 16, 17
LAST_UPDATE, TTL, SET_NAME = 66, 69, 70


def _pack(value: object) -> bytes:
    if isinstance(value, bool):
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 128:
            return bytes([value])
        if -32 <= value < 0:
            return struct.pack(">b", value)
        if value >= 0:
            for fmt, tag in ((">B", 0xCC), (">H", 0xCD), (">I", 0xCE), (">Q", 0xCF)):
                if value < 1 << (8 * struct.calcsize(fmt)):
                    return bytes([tag]) + struct.pack(fmt, value)
            raise ValueError(f"{value} does not fit in 64 bits")
        for fmt, tag, bits in ((">b", 0xD0, 8), (">h", 0xD1, 16), (">i", 0xD2, 32), (">q", 0xD3, 64)):
            if value >= -(1 << (bits - 1)):
                return bytes([tag]) + struct.pack(fmt, value)
        raise ValueError(f"{value} does not fit in 64 bits")
    if isinstance(value, str):
        # Strings carry the string particle type (3) as their first byte.
        data = b"\x03" + value.encode("utf-8")
        n = len(data)
        if n < 32:
            return bytes([0xA0 | n]) + data
        if n < 256:
            return b"\xd9" + bytes([n]) + data
        if n < 65536:
            return b"\xda" + struct.pack(">H", n) + data
        return b"\xdb" + struct.pack(">I", n) + data
    if isinstance(value, list):
        n = len(value)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n) if n < 65536 else b"\xdd" + struct.pack(">I", n)
        return head + b"".join(_pack(v) for v in value)
    raise TypeError(f"cannot pack {type(value).__name__} into an expression")


def backup_filter(
    modified_after_ns: int | None = None,
    modified_before_ns: int | None = None,
    no_ttl_only: bool = False,
    sets: list[str] | None = None,
) -> bytes | None:
    """The expression asbackup sends for its time window, `--no-ttl-only` and a list of
    several sets (ANDed); None when there is nothing to filter."""
    terms: list[object] = []
    if modified_after_ns is not None:
        terms.append([GE, [LAST_UPDATE], modified_after_ns])
    if modified_before_ns is not None:
        terms.append([LT, [LAST_UPDATE], modified_before_ns])
    if no_ttl_only:
        terms.append([EQ, [TTL], -1])
    if sets and len(sets) > 1:
        terms.append([OR, *[[EQ, [SET_NAME], s] for s in sets]])
    if not terms:
        return None
    return _pack(terms[0] if len(terms) == 1 else [AND, *terms])


def parse_backup_time(text: str, now: _dt.datetime | None = None) -> int:
    """`YYYY-MM-DD_HH:MM:SS`, `YYYY-MM-DD` (midnight) or `HH:MM:SS` (today), in local time,
    as nanoseconds since the Unix epoch (asbackup's `-a`/`-b`)."""
    text = text.strip()
    now = now or _dt.datetime.now()
    try:
        if "_" in text:
            moment = _dt.datetime.strptime(text, "%Y-%m-%d_%H:%M:%S")
        elif "-" in text:
            moment = _dt.datetime.strptime(text, "%Y-%m-%d")
        else:
            t = _dt.datetime.strptime(text, "%H:%M:%S").time()
            moment = _dt.datetime.combine(now.date(), t)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date: write YYYY-MM-DD_HH:MM:SS, YYYY-MM-DD or HH:MM:SS (local time)"
        ) from None
    return int(moment.timestamp()) * 1_000_000_000
