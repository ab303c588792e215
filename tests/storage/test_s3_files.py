"""The file side on object storage, against a real S3 API server on loopback (moto's server
mode): validate (with --deep and the manifest), inspect, stats and convert read `s3://`
objects and prefixes as they read files and directories; the library's reader takes the
same URLs; bad URLs and missing objects are errors in words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from asbkit import BackupReader, Record, inspect, validate
from asbkit.io import write_synthetic

from ..helpers.files import SAMPLE
from ..helpers.results import result_of
from ..helpers.s3_server import S3Server


def _cli(server: S3Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asbkit", *args, *server.flags()], capture_output=True, text=True, timeout=120)


def _manifest_of(path: Path, name: str) -> bytes:
    """A manifest for one local file, as `asbkit backup` writes it (through the library)."""
    import hashlib

    from asbkit._codec import FileStats
    from asbkit.io.manifest import write_manifest

    recs = [e for e in BackupReader(str(path)) if isinstance(e, Record)]
    data = path.read_bytes()
    stats = FileStats(name, 0, len(data), len(data), len(recs), first_digest=recs[0].digest, last_digest=recs[-1].digest, sha256=hashlib.sha256(data).digest())
    out = path.with_name(path.name + ".manifest.json")
    write_manifest(out, namespace="test", files=[stats], options={}, server=None, tool="t", indexes=0, udfs=0, layers="plain")
    return out.read_bytes()


def test_objects_read_as_files_and_prefixes_as_directories(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.bucket("files")
    # Bigger than one ranged read (5 MiB): the reader stitches ranges back in order.
    big = tmp_path / "big.asb"
    records, _ = write_synthetic(big, 12 << 20, seed=3)
    s3_server.put(bucket, "b/x_00000.asb", SAMPLE.read_bytes())
    s3_server.put(bucket, "b/x_00001.asb", big.read_bytes())
    s3_server.put(bucket, "b/notes.txt", b"not a backup")
    local = [e for e in BackupReader([str(SAMPLE), str(big)]) if isinstance(e, Record)]
    remote = [e for e in BackupReader(f"s3://{bucket}/b") if isinstance(e, Record)]
    assert [r.digest for r in remote] == [r.digest for r in local] and len(remote) == 3 + records
    assert [repr(r.bins) for r in remote[-50:]] == [repr(r.bins) for r in local[-50:]]
    # The same answers as for the local files.
    want = result_of(validate, [str(SAMPLE), str(big)])
    got = result_of(validate, f"s3://{bucket}/b/")
    assert got.ok and got.data.records == want.data.records and got.data.text_bytes == want.data.text_bytes
    assert [f.path for f in got.data.files] == [f"s3://{bucket}/b/x_00000.asb", f"s3://{bucket}/b/x_00001.asb"]
    assert result_of(inspect, f"S3://{bucket}/b/x_00000.asb").data.records == 3
    s3_server.put(bucket, "c/x_00000.asb", SAMPLE.read_bytes())
    for command in (["validate", "--deep"], ["inspect"], ["stats"]):
        p = _cli(s3_server, *command, f"s3://{bucket}/c", "--output", "json")
        assert p.returncode == 0, (command, p.stderr)
        assert json.loads(p.stdout)["status"] == "ok"
    p = _cli(s3_server, "convert", f"s3://{bucket}/b/x_00000.asb", str(tmp_path / "x.jsonl"))
    assert p.returncode == 0, p.stderr
    assert len((tmp_path / "x.jsonl").read_text().splitlines()) >= 3


def test_validate_deep_checks_an_object_against_its_manifest(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.bucket("manifests")
    local = tmp_path / "t.asb"
    local.write_bytes(SAMPLE.read_bytes())
    s3_server.put(bucket, "one/t.asb", local.read_bytes())
    s3_server.put(bucket, "one/t.asb.manifest.json", _manifest_of(local, "t.asb"))
    ok = result_of(validate, f"s3://{bucket}/one/t.asb", deep=True)
    assert ok.ok and ok.data.deep.manifests == [f"s3://{bucket}/one/t.asb.manifest.json"]
    # Cut at a record boundary: still a valid backup, only the manifest can tell.
    text = local.read_bytes()
    s3_server.put(bucket, "one/t.asb", text[: text.rindex(b"+ k ")])
    cut = result_of(validate, f"s3://{bucket}/one/t.asb", deep=True)
    assert not cut.ok and cut.exit_code == 1
    assert cut.data.deep.finding_counts.get("manifest_mismatch", 0) >= 1
    # One byte changed, same size: the SHA-256 (read in Rust, in ranges) finds it.
    flipped = bytearray(text)
    i = flipped.index(b"+ g 1")
    flipped[i + 4] = ord("2")
    s3_server.put(bucket, "one/t.asb", bytes(flipped))
    changed = result_of(validate, f"s3://{bucket}/one/t.asb", deep=True)
    assert any("SHA-256" in f.message for f in changed.data.deep.findings), changed.data.deep.findings


def test_bad_urls_and_missing_objects_are_said(s3_server: S3Server) -> None:
    bucket = s3_server.bucket("empty")
    p = _cli(s3_server, "validate", f"s3://{bucket}/nothing/here.asb")
    assert p.returncode != 0 and f"s3://{bucket}/nothing/here.asb" in p.stderr and "no such object" in p.stderr, p.stderr
    p = _cli(s3_server, "validate", f"s3://{bucket}/nothing/")
    assert p.returncode != 0 and "holds no .asb objects" in p.stderr, p.stderr
    p = _cli(s3_server, "inspect", "s3://no-such-bucket-here/x.asb")
    assert p.returncode != 0 and "no-such-bucket-here" in p.stderr, p.stderr
    p = _cli(s3_server, "validate", "s3:///x.asb")
    assert p.returncode != 0 and "names no bucket" in p.stderr, p.stderr
    # A filter that fails midway (a damaged input) leaves no object and no upload.
    text = SAMPLE.read_bytes()
    p = subprocess.run([sys.executable, "-m", "asbkit", "filter", "-", f"s3://{bucket}/out.asb", *s3_server.flags()], input=text[: len(text) - 20] + b"\n+ k Z\n", capture_output=True, timeout=120)
    assert p.returncode != 0, p.stderr
    assert s3_server.keys(bucket) == [] and s3_server.uploads(bucket) == [], "nothing half-written"


def test_ranged_reads_survive_dropped_and_stalled_connections(s3_server: S3Server, tmp_path: Path) -> None:
    from ..helpers.faultproxy import FaultProxy, Faults

    bucket = s3_server.bucket("faults")
    big = tmp_path / "big.asb"
    records, _ = write_synthetic(big, 12 << 20, seed=5)
    s3_server.put(bucket, "f/x_00000.asb", big.read_bytes())
    host, port = s3_server.endpoint.rsplit("/", 1)[-1].split(":")
    for faults in (Faults(drop_after_bytes=2 << 20, times=2), Faults(stall_seconds=6, stall_after_bytes=1 << 20, times=2)):
        proxy = FaultProxy((host, int(port)), faults)
        try:
            p = subprocess.run(
                [sys.executable, "-m", "asbkit", "validate", f"s3://{bucket}/f", "--output", "json", "--s3-endpoint-override", f"http://{proxy.addr}", "--s3-read-timeout", "1.5"],
                capture_output=True, text=True, timeout=300,
            )
        finally:
            proxy.close()
        assert p.returncode == 0, (faults, p.stdout[-1500:], p.stderr[-1500:])
        assert json.loads(p.stdout)["data"]["records"] == records
        assert proxy.faulted >= 1, "the fault really happened"


def test_a_store_that_never_answers_is_an_error_in_words(s3_server: S3Server) -> None:
    from ..helpers.faultproxy import FaultProxy, Faults

    bucket = s3_server.bucket("silent")
    s3_server.put(bucket, "x.asb", SAMPLE.read_bytes())
    host, port = s3_server.endpoint.rsplit("/", 1)[-1].split(":")
    proxy = FaultProxy((host, int(port)), Faults(stall_seconds=600, stall_after_bytes=0, times=-1))
    try:
        p = subprocess.run(
            [sys.executable, "-m", "asbkit", "validate", f"s3://{bucket}/x.asb", "--s3-endpoint-override", f"http://{proxy.addr}", "--s3-read-timeout", "1", "--s3-max-retries", "1"],
            capture_output=True, text=True, timeout=300,
        )
    finally:
        proxy.close()
    assert p.returncode != 0 and f"s3://{bucket}/x.asb" in p.stderr, p.stderr[-2000:]
    assert "timed out" in p.stderr or "timeout" in p.stderr.lower(), p.stderr[-2000:]


def test_convert_filter_split_and_the_writer_write_objects_whole(s3_server: S3Server, tmp_path: Path) -> None:
    from asbkit import BackupWriter, Key, compute_digest

    bucket = s3_server.bucket("outputs")
    big = tmp_path / "big.asb"
    records, _ = write_synthetic(big, 7 << 20, seed=9)  # more than one 5 MiB part
    # filter: one object; split: objects under a prefix, C's names; convert both ways.
    p = _cli(s3_server, "filter", str(big), f"s3://{bucket}/f/one.asb")
    assert p.returncode == 0, p.stderr
    p = _cli(s3_server, "split", f"s3://{bucket}/f/one.asb", f"s3://{bucket}/parts", "--parts", "3", "-q", "p")
    assert p.returncode == 0, p.stderr
    assert s3_server.keys(bucket, "parts/") == [f"parts/p_{i:05d}.asb" for i in range(3)]
    p = _cli(s3_server, "split", str(big), f"s3://{bucket}/parts", "--parts", "3", "-q", "p")
    assert p.returncode != 0 and "already holds" in p.stderr, p.stderr
    p = _cli(s3_server, "convert", f"s3://{bucket}/parts", f"s3://{bucket}/j/all.jsonl")
    assert p.returncode == 0, p.stderr
    p = _cli(s3_server, "convert", f"s3://{bucket}/j/all.jsonl", f"s3://{bucket}/back/")
    assert p.returncode == 0, p.stderr
    back = s3_server.keys(bucket, "back/")
    assert len(back) == 3, back
    want = [e.digest for e in BackupReader(str(big)) if isinstance(e, Record)]
    for where in (f"s3://{bucket}/f/one.asb", f"s3://{bucket}/parts", f"s3://{bucket}/back"):
        assert [e.digest for e in BackupReader(where) if isinstance(e, Record)] == want, where
    assert len(want) == records
    # The library's writer: the object appears only when closed; a failed write leaves none.
    with BackupWriter(f"s3://{bucket}/w/lib.asb", "test") as w:
        key = Key("I", 1)
        w.write(Record("test", compute_digest("s", key), [], set="s", key=key))
        assert s3_server.keys(bucket, "w/") == []
    assert s3_server.keys(bucket, "w/") == ["w/lib.asb"]
    try:
        with BackupWriter(f"s3://{bucket}/w/failed.asb", "test") as w:
            for e in BackupReader(str(big)):
                w.write(e)
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert s3_server.keys(bucket, "w/") == ["w/lib.asb"] and s3_server.uploads(bucket) == []
