"""The `.state` file of an interrupted `asbkit backup` (its manifest, once finished, is
`asbkit.io.manifest`'s).

State (JSON, written atomically: temporary file, fsync, rename, fsync of the directory; in
object storage one PUT, which replaces the old state whole or not at all):

    {"format": "asbkit-backup-state", "version": 1,
     "namespace": "test", "target": {"kind": "directory", "path": "...", "prefix": "test"},
     "layers": "zstd+aes256", "arguments": {...the options that must not change...},
     "partitions": [[pid, "<last digest, base64>" or null, records, done], ...],
     "files": [{"name", "index", "bytes", "text_bytes", "records",
                "first_digest", "last_digest", "sha256", "resume"}, ...],
     "jobs": [[pid, ...], ...], "indexes": 2, "udfs": 1,
     "saved": "2026-12-01T10:00:00Z", "tool": "asbkit 0.1.0"}

`partitions` lists only partitions with progress; `jobs` the partitions each job reads
(a continuation reads the same ones, even if `-l` nodes' ownership has moved since).
Each file's `bytes` is its committed length: every record before it is counted in `partitions`, none after it. Continuing cuts
each file back to that length; `sha256` is set for files already complete. An object still
being uploaded has `resume` instead: its multipart upload, the parts that ended at a
commit, and the hash state there (what the store needs to write on from `bytes`).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from .._codec import FileStats, PartitionProgress
from ..errors import AsbError
from ..io import places
from ..io.manifest import files_from_json, files_to_json, now_iso

STATE_FORMAT = "asbkit-backup-state"
#: The state of a backup run on Dask: its plan of shards (`asbkit.sharded.backing_up`).
SHARDED_FORMAT = "asbkit-sharded-backup-state"
VERSION = 1


def _b64(b: bytes | None) -> str | None:
    return base64.b64encode(b).decode() if b is not None else None


def _unb64(s: str | None) -> bytes | None:
    return base64.b64decode(s) if s is not None else None


def save_state(
    path: str | os.PathLike[str],
    *,
    namespace: str,
    target: dict[str, Any],
    layers: str,
    arguments: dict[str, Any],
    partitions: list[PartitionProgress],
    files: list[FileStats],
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
        "partitions": [[p.pid, _b64(p.last), p.records, p.done] for p in partitions],
        "files": files_to_json(files),
        "jobs": jobs or [],
        "indexes": indexes,
        "udfs": udfs,
        "saved": now_iso(),
        "tool": tool,
    }
    places.write_text(os.fspath(path), json.dumps(doc, indent=1))


def read_state(path: str | os.PathLike[str]) -> Any:
    """A state file's JSON (of one host's backup or a run on Dask), undecoded."""
    try:
        return json.loads(places.read_text(os.fspath(path)))
    except json.JSONDecodeError as exc:
        raise AsbError(f"not an asbkit backup state ({exc})", path=str(path)) from None


def load_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    doc = read_state(path)
    if isinstance(doc, dict) and doc.get("format") == SHARDED_FORMAT:
        raise AsbError("the state of a backup run on Dask: continue it with --dask (and the same arguments)", path=str(path))
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise AsbError(
            "not an asbkit backup state (a C asbackup .state file cannot be continued by asbkit)",
            path=str(path),
        )
    if doc.get("version") != VERSION:
        raise AsbError(f"state version {doc.get('version')} is not one this asbkit reads", path=str(path))
    try:
        doc["partitions"] = [PartitionProgress(pid, _unb64(last), records, done) for pid, last, records, done in doc["partitions"]]
        doc["files"] = files_from_json(doc["files"])
    except (KeyError, TypeError, ValueError) as exc:
        raise AsbError(f"a damaged asbkit backup state ({exc!r}); start the backup again without -c", path=str(path)) from None
    return doc




def unfinished_uploads(path: str) -> list[tuple[str, bytes]]:
    """The objects a saved state left mid-upload, with what aborts them: [(url, token)]."""
    try:
        doc = load_state(path)
    except (AsbError, OSError):
        return []
    return [(f.name, f.resume) for f in doc["files"] if f.resume is not None and f.sha256 is None]
