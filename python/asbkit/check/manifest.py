"""A backup's manifest (written by `asbkit backup`, see `asbkit.io.manifest`) checked against
its files: every file there and no other, each with its size, SHA-256, record count and
first and last digest. AES-CTR has no integrity of its own: this is what proves a backup
whole and untampered."""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import AsbError
from ..io import places
from ..io.manifest import MANIFEST_FORMAT
from .findings import Finding


def find_manifests(sources: Any) -> list[tuple[str, str | None]]:
    """The manifests of the sources (paths or `s3://` URLs): (manifest, the one file it is
    checked against; None for a directory's manifest, checked against the directory's
    files)."""
    items = sources if isinstance(sources, list) else [sources]
    found: list[tuple[str, str | None]] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)) or str(item) == "-":
            continue
        p = os.fspath(item)
        is_dir = places.is_dir(p)
        candidates = [n for n in places.names_in(p) if n.endswith(".manifest.json")] if is_dir else [p + ".manifest.json"]
        for c in candidates:
            try:
                doc = json.loads(places.read_text(c))
            except (AsbError, OSError, ValueError):
                continue
            if isinstance(doc, dict) and doc.get("format") == MANIFEST_FORMAT:
                # In a directory, `X.asb.manifest.json` is the manifest of the one file X.asb
                # (a `-o` backup kept there), not of the directory.
                single = c[: -len(".manifest.json")] if is_dir and c.endswith(".asb.manifest.json") else None
                found.append((c, single if is_dir else p))
    return found


def _key(path: str) -> str:
    """One spelling of a file's name, to match a file with its counts."""
    return path if places.is_url(path) else os.path.abspath(path)


def check_manifests(sources: Any, files: list[Any]) -> tuple[list[str], list[Finding], list[str]]:
    """(manifests checked, findings, notes). `files`: validate's per-file counts.

    A directory's manifest is checked against the directory's files: each it lists, and no
    other. A single file's (`FILE.manifest.json`) is checked against FILE, whatever name
    the manifest gives it (a copy keeps its old name inside): the name is said, never
    followed to another file."""
    counts = {_key(f.path): f for f in files}
    findings: list[Finding] = []
    notes: list[str] = []
    checked: list[str] = []
    for manifest, single in find_manifests(sources):
        doc = json.loads(places.read_text(manifest))
        checked.append(manifest)
        entries = doc.get("files", [])
        manifest_name = places.basename(manifest)

        def finding(kind: str, path: str, message: str) -> None:
            findings.append(Finding(kind, path, None, None, None, message))

        if single is not None:
            if len(entries) != 1:
                finding("manifest_mismatch", single, f"the manifest {manifest_name} lists {len(entries)} files, not this one file")
                continue
            if entries[0]["name"] != places.basename(single):
                notes.append(f"the manifest {manifest_name} names the file {entries[0]['name']}; checked {places.basename(single)} against it")
            pairs = [(single, entries[0])]
        else:
            directory = places.parent(manifest)
            pairs = [(places.join(directory, e["name"]), e) for e in entries]
        for path, entry in pairs:
            size = places.size(path)
            if size is None:
                finding("manifest_missing_file", path, f"the manifest {manifest_name} lists this file; it is missing")
                continue
            for problem in _differences(path, size, entry, counts.get(_key(path))):
                finding("manifest_mismatch", path, problem)
        if single is None:
            listed = {_key(p) for p, _ in pairs}
            for p in places.names_in(places.parent(manifest)):
                if p.endswith(".asb") and _key(p) not in listed:
                    finding("manifest_extra_file", p, f"a .asb file the manifest {manifest_name} does not list")
    return checked, findings, notes


def _differences(path: str, size: int, entry: dict[str, Any], counted: Any) -> list[str]:
    """How the file differs from its manifest entry (size, SHA-256, records, first and last
    digest)."""
    problems = []
    if size != entry["bytes"]:
        problems.append(f"{size:,} bytes, the manifest says {entry['bytes']:,}")
    elif entry.get("sha256") and places.sha256(path) != entry["sha256"]:
        problems.append("its SHA-256 is not the manifest's: the file was changed or damaged")
    if counted is not None:
        if counted.records != entry["records"]:
            problems.append(f"{counted.records:,} records, the manifest says {entry['records']:,}")
        for which, have in (("first", counted.first_digest), ("last", counted.last_digest)):
            want = entry.get(f"{which}_digest")
            if want != have:
                problems.append(f"its {which} record is {have}, the manifest says {want}")
    return problems
