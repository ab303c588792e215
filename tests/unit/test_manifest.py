"""validate --deep against a backup's manifest: a whole, untouched backup passes; a changed
byte, a cut file, a missing or an extra file, a wrong record count are each found."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from asbkit import BackupWriter, Key, Record, compute_digest, validate
from asbkit.io.manifest import FileStats, write_manifest

from ..helpers.results import result_of


def _backup(d: Path, files: int = 3, per_file: int = 20) -> None:
    d.mkdir()
    entries = []
    n = 0
    for i in range(files):
        path = d / f"test_{i:05d}.asb"
        digests = []
        with BackupWriter(str(path), "test", first_file=i == 0) as w:
            for _ in range(per_file):
                key = Key("I", n)
                digest = compute_digest("s", key)
                w.write(Record("test", digest, [], set="s", key=key))
                digests.append(digest)
                n += 1
        data = path.read_bytes()
        entries.append(FileStats(
            str(path), i, len(data), len(data), per_file,
            first_digest=digests[0], last_digest=digests[-1], sha256=hashlib.sha256(data).digest(),
        ))
    write_manifest(d / "test.manifest.json", namespace="test", files=entries, options={}, server=None, tool="t", indexes=0, udfs=0, layers="plain")


def _kinds(d: Path) -> dict[str, int]:
    r = result_of(validate, str(d), deep=True)
    assert r.data.deep is not None and r.data.deep.manifests == [str(d / "test.manifest.json")]
    return {k: v for k, v in r.data.deep.finding_counts.items() if k.startswith("manifest")}


def test_a_whole_backup_matches_its_manifest(tmp_path: Path) -> None:
    _backup(tmp_path / "b")
    r = result_of(validate, str(tmp_path / "b"), deep=True)
    assert r.ok and r.data.deep.manifests


@pytest.mark.parametrize("damage, kind", [
    ("flip", "manifest_mismatch"), ("cut", "manifest_mismatch"), ("remove", "manifest_missing_file"),
    ("extra", "manifest_extra_file"), ("records", "manifest_mismatch"),
])
def test_each_kind_of_damage_is_found(tmp_path: Path, damage: str, kind: str) -> None:
    d = tmp_path / "b"
    _backup(d)
    f = d / "test_00001.asb"
    if damage == "flip":
        data = bytearray(f.read_bytes())
        i = data.index(b"+ g 1")
        data[i + 4] = ord("2")  # still a valid backup: only the manifest can tell
        f.write_bytes(bytes(data))
    elif damage == "cut":
        text = f.read_text()
        f.write_text(text[: text.rindex("+ k ")])
    elif damage == "remove":
        f.unlink()
    elif damage == "extra":
        shutil.copy(f, d / "test_00009.asb")
    elif damage == "records":
        import json

        m = json.loads((d / "test.manifest.json").read_text())
        m["files"][1]["records"] += 1
        (d / "test.manifest.json").write_text(json.dumps(m))
    found = _kinds(d)
    assert found.get(kind, 0) >= 1, found
    r = result_of(validate, str(d), deep=True)
    assert not r.ok and r.exit_code == 1


def test_single_file_manifests_in_a_directory_check_their_own_file(tmp_path: Path) -> None:
    """Two `-o` backups kept in one directory: each FILE.manifest.json is checked against
    its FILE, not taken as the directory's manifest (which would call the other file
    extra)."""
    d = tmp_path / "b"
    _backup(d, files=2)
    (d / "test.manifest.json").unlink()
    import json

    for i in range(2):
        path = d / f"test_{i:05d}.asb"
        data = path.read_bytes()
        recs = [e for e in __import__("asbkit").BackupReader(str(path)) if isinstance(e, Record)]
        entry = FileStats(str(path), 0, len(data), len(data), len(recs), first_digest=recs[0].digest, last_digest=recs[-1].digest, sha256=hashlib.sha256(data).digest())
        write_manifest(d / f"{path.name}.manifest.json", namespace="test", files=[entry], options={}, server=None, tool="t", indexes=0, udfs=0, layers="plain")
    r = result_of(validate, str(d), deep=True)
    assert r.ok, r.data.deep.findings
    assert sorted(r.data.deep.manifests) == [str(d / f"test_{i:05d}.asb.manifest.json") for i in range(2)]
    m = json.loads((d / "test_00001.asb.manifest.json").read_text())
    m["files"][0]["records"] += 1
    (d / "test_00001.asb.manifest.json").write_text(json.dumps(m))
    r = result_of(validate, str(d), deep=True)
    assert [f.path for f in r.data.deep.findings] == [str(d / "test_00001.asb")]
