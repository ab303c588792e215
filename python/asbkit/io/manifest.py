"""The manifest of a finished backup (`<prefix>.manifest.json` beside a directory's files,
or `FILE.manifest.json`), and the JSON form of the files' accounts that it and a backup's
state share. AES-CTR has no integrity of its own: the manifest is what proves a backup
whole and untampered (`asbkit.check.manifest` checks it).

    {"format": "asbkit-backup-manifest", "version": 1, "namespace": "test",
     "created": "2026-12-01T10:00:00Z", "tool": "asbkit 0.1.0", "server": "8.1.2.0",
     "layers": "zstd+aes256", "options": {...},
     "totals": {"files", "records", "bytes", "indexes", "udfs"},
     "files": [{"name", "index", "bytes", "text_bytes", "records",
                "first_digest", "last_digest", "sha256"}, ...]}

Files are written atomically: a temporary file, fsync, rename, fsync of the directory (an
object in one PUT).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
from typing import Any

from .._codec import FileStats
from .places import write_text

MANIFEST_FORMAT = "asbkit-backup-manifest"
VERSION = 1


def _b64(b: bytes | None) -> str | None:
    return base64.b64encode(b).decode() if b is not None else None


def _unb64(s: str | None) -> bytes | None:
    return base64.b64decode(s) if s is not None else None


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def files_to_json(files: list[FileStats]) -> list[dict[str, Any]]:
    return [
        {
            "name": f.name,
            "index": f.index,
            "bytes": f.bytes,
            "text_bytes": f.text_bytes,
            "records": f.records,
            "first_digest": _b64(f.first_digest),
            "last_digest": _b64(f.last_digest),
            "sha256": f.sha256.hex() if f.sha256 is not None else None,
            # An object mid-upload (a state's only): what its store needs to write on.
            **({"resume": _b64(f.resume)} if f.resume is not None else {}),
        }
        for f in files
    ]


def files_from_json(files: list[dict[str, Any]]) -> list[FileStats]:
    return [
        FileStats(
            f["name"], f["index"], f["bytes"], f["text_bytes"], f["records"],
            first_digest=_unb64(f.get("first_digest")),
            last_digest=_unb64(f.get("last_digest")),
            sha256=bytes.fromhex(f["sha256"]) if f.get("sha256") else None,
            resume=_unb64(f.get("resume")),
        )
        for f in files
    ]


def write_manifest(
    path: str | os.PathLike[str],
    *,
    namespace: str,
    files: list[FileStats],
    options: dict[str, Any],
    server: str | None,
    tool: str,
    indexes: int,
    udfs: int,
    layers: str,
) -> None:
    entries = files_to_json(files)
    for e in entries:
        e["name"] = e["name"].rstrip("/").rsplit("/", 1)[-1] if e["name"] != "-" else "-"
    doc = {
        "format": MANIFEST_FORMAT,
        "version": VERSION,
        "namespace": namespace,
        "created": now_iso(),
        "tool": tool,
        "server": server,
        "layers": layers,
        "options": options,
        "totals": {
            "files": len(files),
            "records": sum(f.records for f in files),
            "bytes": sum(f.bytes for f in files),
            "indexes": indexes,
            "udfs": udfs,
        },
        "files": entries,
    }
    write_text(os.fspath(path), json.dumps(doc, indent=1))
