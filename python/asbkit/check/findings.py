"""What a check finds in a backup that is not a read error: located findings."""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass
class Finding:
    #: parse_error, digest_mismatch, bytes_key_digest_mismatch, namespace_mismatch,
    #: duplicate_digest; against a backup's manifest: manifest_missing_file,
    #: manifest_extra_file, manifest_mismatch
    kind: str
    path: str
    line: int | None
    column: int | None
    offset: int | None
    message: str


def b64(d: bytes | None) -> str | None:
    """A digest as the reports show it (base64), or None."""
    return base64.b64encode(d).decode() if d is not None else None
