"""The per-set and per-bin tables that inspect and stats print."""

from __future__ import annotations

from ...check.tables import SetInfo


def set_table(sets: list[SetInfo]) -> list[str]:
    width = max(len(s.set or "(no set)") for s in sets)
    out = [f"  {'set':<{width}}  {'records':>12}  {'bytes':>14}  {'with key':>12}"]
    out += [f"  {s.set or '(no set)':<{width}}  {s.records:>12,}  {s.bytes:>14,}  {s.with_key:>12,}" for s in sets]
    return out


def type_counts(types: dict[str, int]) -> str:
    return ", ".join(f"{t} {n:,}" for t, n in sorted(types.items(), key=lambda kv: -kv[1]))
