"""The `.state` file of an interrupted `asbkit backup`, and the manifest of a finished one.

State (JSON, written atomically: temporary file, fsync, rename, fsync of the directory):

    {"format": "asbkit-backup-state", "version": 1,
     "namespace": "test", "target": {"kind": "directory", "path": "...", "prefix": "test"},
     "layers": "zstd, aes256", "arguments": {...the options that must not change...},
     "partitions": [[pid, "<last digest, base64>" or null, records, done], ...],
     "files": [{"name", "index", "bytes", "text_bytes", "records",
                "first_digest", "last_digest", "sha256"}, ...],
     "jobs": [[pid, ...], ...], "indexes": 2, "udfs": 1,
     "saved": "2026-12-01T10:00:00Z", "tool": "asbkit 0.1.0"}

`partitions` lists only partitions with progress; `jobs` the partitions each job reads
(a continuation reads the same ones, even if `-l` nodes' ownership has moved since). Each file's `bytes` is its committed
length: every record before it is counted in `partitions`, none after it. Continuing cuts
each file back to that length; `sha256` is set for files already complete.

Manifest (`<prefix>.manifest.json` beside the files, or `<file>.manifest.json`): per file
its records, bytes, SHA-256 and first and last digest; totals; namespace, options, versions.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

STATE_FORMAT = "asbkit-backup-state"
MANIFEST_FORMAT = "asbkit-backup-manifest"
VERSION = 1


def _b64(b: bytes | None) -> str | None:
    return base64.b64encode(b).decode() if b is not None else None


def _unb64(s: str | None) -> bytes | None:
    return base64.b64decode(s) if s is not None else None


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(path.parent or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def files_to_json(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for f in files:
        out.append(
            {
                "name": f["name"],
                "index": f["index"],
                "bytes": f["bytes"],
                "text_bytes": f["text_bytes"],
                "records": f["records"],
                "first_digest": _b64(f["first_digest"]),
                "last_digest": _b64(f["last_digest"]),
                "sha256": f["sha256"].hex() if f["sha256"] is not None else None,
            }
        )
    return out


def files_from_json(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **f,
            "first_digest": _unb64(f.get("first_digest")),
            "last_digest": _unb64(f.get("last_digest")),
            "sha256": bytes.fromhex(f["sha256"]) if f.get("sha256") else None,
        }
        for f in files
    ]


def save_state(
    path: str | os.PathLike[str],
    *,
    namespace: str,
    target: dict[str, Any],
    layers: str,
    arguments: dict[str, Any],
    partitions: list[tuple[int, bytes | None, int, bool]],
    files: list[dict[str, Any]],
    indexes: int,
    udfs: int,
    tool: str,
    jobs: list[list[int]] | None = None,
) -> None:
    doc = {
        "format": STATE_FORMAT,
        "version": VERSION,
        "namespace": namespace,
        "target": target,
        "layers": layers,
        "arguments": arguments,
        "partitions": [[pid, _b64(last), records, done] for pid, last, records, done in partitions],
        "files": files_to_json(files),
        "jobs": jobs or [],
        "indexes": indexes,
        "udfs": udfs,
        "saved": now_iso(),
        "tool": tool,
    }
    write_atomically(path, json.dumps(doc, indent=1))


def load_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    from .errors import AsbError

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as exc:
        raise AsbError(f"not an asbkit backup state ({exc})", path=str(path)) from None
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise AsbError(
            "not an asbkit backup state (a C asbackup .state file cannot be continued by asbkit)",
            path=str(path),
        )
    if doc.get("version") != VERSION:
        raise AsbError(f"state version {doc.get('version')} is not one this asbkit reads", path=str(path))
    doc["partitions"] = [(pid, _unb64(last), records, done) for pid, last, records, done in doc["partitions"]]
    doc["files"] = files_from_json(doc["files"])
    return doc


def write_manifest(
    path: str | os.PathLike[str],
    *,
    namespace: str,
    files: list[dict[str, Any]],
    options: dict[str, Any],
    server: str | None,
    tool: str,
    indexes: int,
    udfs: int,
    layers: str,
) -> None:
    entries = files_to_json(files)
    for e in entries:
        e["name"] = os.path.basename(e["name"]) if e["name"] != "-" else "-"
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
            "records": sum(f["records"] for f in files),
            "bytes": sum(f["bytes"] for f in files),
            "indexes": indexes,
            "udfs": udfs,
        },
        "files": entries,
    }
    write_atomically(path, json.dumps(doc, indent=1))
