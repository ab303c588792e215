"""asrestore's filters, as convert, filter and split apply them while copying."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from ..spec import option

FILTERS = "filters (as asrestore takes them)"


def comma_list(text: str | None) -> list[str] | None:
    """A comma-separated flag value as its non-empty items (None for none)."""
    return [x for x in text.split(",") if x] if text else None


def parse_namespace(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    parts = value.split(",")
    if len(parts) != 2 or not all(parts):
        raise ValueError("--namespace takes OLD,NEW")
    return (parts[0], parts[1])


def parse_digests(values: list[str] | None) -> list[bytes] | None:
    if not values:
        return None
    digests = [base64.b64decode(d, validate=True) for d in values]  # binascii.Error is a ValueError
    if any(len(d) != 20 for d in digests):
        raise ValueError("--digest takes the 28-character base64 of a 20-byte digest")
    return digests


def parse_keys(values: list[str] | None) -> list[tuple[str, object]] | None:
    if not values:
        return None
    keys: list[tuple[str, object]] = []
    for k in values:
        kind, sep, value = k.partition(":")
        if not sep or kind not in ("S", "I", "B"):
            raise ValueError(f"--key {k!r}: write S:text, I:number or B:base64")
        keys.append((kind, int(value) if kind == "I" else base64.b64decode(value) if kind == "B" else value))
    return keys


@dataclass
class Selection:
    """asrestore's filters, applied while copying."""

    sets: list[str] | None = option("-s", "--set", "--set-list", metavar="SETS", convert=comma_list, group=FILTERS, help="only these sets (comma-separated)")
    bins: list[str] | None = option("-B", "--bin-list", metavar="BINS", convert=comma_list, group=FILTERS, help="only these bins (comma-separated)")
    #: (old, new): records of namespace old are written as new; others are an error.
    namespace: tuple[str, str] | None = option("-n", "--namespace", metavar="OLD,NEW", convert=parse_namespace, group=FILTERS, help="rename namespace OLD to NEW")
    max_records: int | None = option("-M", "--max-records", type=int, metavar="N", group=FILTERS, help="stop after N records")
    no_metadata: bool = option("--no-metadata", kind="switch", group=FILTERS, help="leave out indexes and UDFs")
    #: Keep only records with these digests (20 bytes each).
    digests: list[bytes] | None = option("--digest", kind="append", metavar="B64", convert=parse_digests, group=FILTERS, help="only the record with this digest (base64; repeatable)")
    #: Keep only records with these user keys: ("I", int), ("S", str) or ("B", bytes).
    keys: list[tuple[str, object]] | None = option(
        "--key", kind="append", metavar="T:VALUE", convert=parse_keys, group=FILTERS,
        help="only the record with this user key: S:text, I:number or B:base64 (repeatable)",
    )
    #: Record the text of doubles not in C's %.17g form (Go writes shortest forms such as
    #: 0.1), so converting back gives the same bytes. Costs a few percent of speed.
    keep_double_text: bool = option(
        "--keep-double-text", kind="switch", contexts=["convert"], group=None,
        help="record doubles not written as C's %%.17g (Go writes shortest forms like 0.1) as they were, "
        "so converting back gives the same bytes (a few percent slower)",
    )

    def codec_args(self) -> dict[str, Any]:
        def enc(s: str) -> bytes:
            return s.encode("utf-8", "surrogateescape")

        return {
            "selection": {
                "sets": [enc(s) for s in self.sets] if self.sets else None,
                "bins": [enc(b) for b in self.bins] if self.bins else None,
                "namespace": (enc(self.namespace[0]), enc(self.namespace[1])) if self.namespace else None,
                "max_records": self.max_records,
                "no_metadata": self.no_metadata,
                "digests": self.digests,
                "keys": self.keys,
                "double_text": self.keep_double_text,
            }
        }
