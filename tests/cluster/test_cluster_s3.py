"""Backups in object storage against a real one-node server (ASBKIT_TEST_HOST) and a real
S3 API server on loopback (moto's server mode): backup → validate → restore → verify
through `s3://`, with rotation into multipart objects and the layers; a prefix that holds
a backup refused without -r and replaced with it; a backup killed (SIGKILL) and
interrupted (SIGINT) continued from its state in the bucket to every record once, no
upload left behind; bad buckets and URLs said in words, with nothing written."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from asbkit import Layers

from ..helpers.cluster_data import HOST, asb_files, load_bulk, needs_host, records_of, split_addr
from ..helpers.s3_server import S3Server

pytestmark = [pytest.mark.cluster, needs_host, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
SET = "asbkit_s3"
N = 40_000


@pytest.fixture(scope="module")
def s3_data(host_client: Any) -> set[bytes]:
    host_client.truncate(NS, SET, 0)
    time.sleep(0.5)
    # ~450 bytes of text a record: ~17 MiB, so files of -F 8 go up in several 5 MiB parts.
    load_bulk(host_client, NS, N, set_name=SET, payload=300)
    seen: set[bytes] = set()
    host_client.query(NS, SET).foreach(lambda rec: seen.add(bytes(rec[0][3])))
    assert len(seen) == N
    return seen


def _asbkit(command: str, *args: str, server: S3Server) -> list[str]:
    h, p = split_addr(HOST or "")
    return [sys.executable, "-m", "asbkit", command, "-h", h, "-p", str(p), "--no-progress", *server.flags(), *args]


def _backup(server: S3Server, *args: str) -> list[str]:
    return _asbkit("backup", "-n", NS, "-s", SET, *args, server=server)


def _download(server: S3Server, bucket: str, prefix: str, into: Path) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    for key in server.keys(bucket, prefix):
        (into / key.rsplit("/", 1)[-1]).write_bytes(server.get(bucket, key))
    return asb_files(into)


@pytest.mark.parametrize("layers", [[], ["-z", "zstd", "-y", "aes256", "--encryption-key-env", "ASBKIT_TEST_KEY"]], ids=["plain", "zstd+aes256"])
def test_backup_restore_verify_through_s3(s3_server: S3Server, s3_data: set[bytes], host_client: Any, tmp_path: Path, layers: list[str]) -> None:
    os.environ["ASBKIT_TEST_KEY"] = base64.b64encode(b"s" * 32).decode()
    lay = Layers(compress="zstd", encrypt="aes256", key_env="ASBKIT_TEST_KEY") if layers else None
    bucket = s3_server.bucket("roundtrip")
    url = f"s3://{bucket}/nightly/test"
    p = subprocess.run(_backup(s3_server, "-d", url, "-F", "8", "-w", "2", *layers), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"Backed up {N} record(s)" in p.stderr
    keys = s3_server.keys(bucket, "nightly/test/")
    asb = [k for k in keys if k.endswith(".asb")]
    # Rotation at -F as on disk, names as C names them; manifest beside; no state left.
    assert asb and all(k.startswith("nightly/test/test_") for k in asb), keys
    if layers:
        # Compressed then encrypted: no object holds the text's header in the clear.
        assert all(not s3_server.get(bucket, k).startswith(b"Version") for k in asb), keys
    else:
        assert len(asb) >= 2, f"{N} records in 8 MiB objects: rotated ({keys})"
    assert "nightly/test/test.manifest.json" in keys and not any(k.endswith(".state") for k in keys), keys
    assert s3_server.uploads(bucket) == [], "every multipart upload completed"
    # The objects hold the set's records, each once (read back from a local copy).
    local = _download(s3_server, bucket, "nightly/test/", tmp_path / "copy")
    assert set(records_of(local, lay)) == s3_data
    manifest = json.loads(s3_server.get(bucket, "nightly/test/test.manifest.json"))
    assert manifest["totals"]["records"] == N and sorted(f["name"] for f in manifest["files"]) == [p.name for p in local]
    # validate --deep checks every object against the manifest in the bucket.
    p = subprocess.run([sys.executable, "-m", "asbkit", "validate", "--deep", url, *layers, *s3_server.flags()], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "checked against the manifest s3://" in p.stdout
    # Restore from the bucket into an emptied set, then verify against the bucket.
    host_client.truncate(NS, SET, 0)
    time.sleep(0.5)
    p = subprocess.run(_asbkit("restore", "-d", url, *layers, server=s3_server), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"inserted {N}" in p.stderr
    back: set[bytes] = set()
    host_client.query(NS, SET).foreach(lambda rec: back.add(bytes(rec[0][3])))
    assert back == s3_data
    p = subprocess.run(_asbkit("verify", url, *layers, "--output", "json", server=s3_server), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    data = json.loads(p.stdout)["data"]
    assert data["same"] == N and data["missing"] == 0 and data["different"] == 0


def test_one_object_and_a_prefix_that_holds_a_backup(s3_server: S3Server, s3_data: set[bytes], tmp_path: Path) -> None:
    bucket = s3_server.bucket("places")
    one = f"s3://{bucket}/single/test.asb"
    p = subprocess.run(_backup(s3_server, "-o", one), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert s3_server.keys(bucket) == ["single/test.asb", "single/test.asb.manifest.json"]
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "test.asb").write_bytes(s3_server.get(bucket, "single/test.asb"))
    assert set(records_of([tmp_path / "one" / "test.asb"])) == s3_data
    # Restored from the one object (-i), and from the prefix named by --directory-list
    # under an s3:// --parent-directory (joined as asrestore joins them).
    for source in (["-i", one], ["--directory-list", "single", "--parent-directory", f"s3://{bucket}/"]):
        p = subprocess.run(_asbkit("restore", *source, "--output", "json", server=s3_server), capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        counters = json.loads(p.stdout)["data"]
        assert counters["records_read"] == N, counters
    # Written again: refused without -r (an existing object, as a file), replaced with it.
    again = subprocess.run(_backup(s3_server, "-o", one), capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "-r/--remove-files" in again.stderr, again.stderr[-2000:]
    # A prefix that holds a backup: refused; with -r its objects are replaced, others kept.
    prefix = f"s3://{bucket}/dir"
    s3_server.put(bucket, "dir/test_00000.asb", b"old")
    s3_server.put(bucket, "dir/test_00007.asb", b"old")
    s3_server.put(bucket, "dir/README", b"not ours")
    refused = subprocess.run(_backup(s3_server, "-d", prefix), capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "already holds 2 .asb object(s)" in refused.stderr, refused.stderr[-2000:]
    assert s3_server.get(bucket, "dir/test_00007.asb") == b"old", "nothing removed when refused"
    p = subprocess.run(_backup(s3_server, "-d", prefix, "-r"), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    keys = s3_server.keys(bucket, "dir/")
    assert "dir/test_00007.asb" not in keys and "dir/README" in keys and "dir/test.manifest.json" in keys, keys
    # --remove-artifacts removes the backup's objects and keeps the rest.
    p = subprocess.run(_backup(s3_server, "-d", prefix, "--remove-artifacts"), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert s3_server.keys(bucket, "dir/") == ["dir/README"]


def _interrupt(cmd: list[str], server: S3Server, bucket: str, state_key: str, sig: int, at_records: int) -> subprocess.CompletedProcess[bytes]:
    """Starts the backup, waits until its state in the bucket counts `at_records` durable
    records, sends `sig`."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            saved = json.loads(server.get(bucket, state_key))
            if sum(f["records"] for f in saved["files"]) >= at_records:
                break
        except Exception:  # not there yet
            pass
        time.sleep(0.1)
    assert proc.poll() is None, "the backup ended before it could be interrupted: " + proc.stderr.read().decode()[-2000:]
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def test_killed_and_interrupted_backups_to_s3_continue_to_every_record_once(s3_server: S3Server, s3_data: set[bytes], tmp_path: Path) -> None:
    bucket = s3_server.bucket("resume")
    url = f"s3://{bucket}/b"
    state_key, state = "b/test.asb.state", f"s3://{bucket}/b/test.asb.state"
    # Slow enough to catch in the middle; a part (5 MiB, ~11,000 records) must be up
    # before the state counts anything.
    slow = ["-d", url, "-F", "12", "-L", "6000"]
    first = _interrupt(_backup(s3_server, *slow), s3_server, bucket, state_key, signal.SIGKILL, 12_000)
    assert first.returncode == -signal.SIGKILL
    saved = json.loads(s3_server.get(bucket, state_key))
    durable = sum(f["records"] for f in saved["files"])
    assert durable >= 12_000 and any(f.get("resume") for f in saved["files"]), saved["files"]
    assert s3_server.uploads(bucket), "the killed backup's upload is still open, to go on with"
    second = _interrupt(_backup(s3_server, *slow, "-c", state), s3_server, bucket, state_key, signal.SIGINT, durable + 12_000)
    assert second.returncode not in (0, -signal.SIGINT), second.stderr.decode()[-2000:]
    assert b"-c " in second.stderr and b"interrupted" in second.stderr, second.stderr.decode()[-2000:]
    last = subprocess.run(_backup(s3_server, "-d", url, "-F", "12", "-c", state), capture_output=True, timeout=300)
    assert last.returncode == 0, last.stderr.decode()[-3000:]
    assert f"Backed up {N} record(s)".encode() in last.stderr
    keys = s3_server.keys(bucket, "b/")
    assert "b/test.asb.state" not in keys and "b/test.manifest.json" in keys, keys
    assert s3_server.uploads(bucket) == [], "no upload left open"
    local = _download(s3_server, bucket, "b/", tmp_path / "copy")
    assert set(records_of(local)) == s3_data  # records_of fails on any digest seen twice
    p = subprocess.run([sys.executable, "-m", "asbkit", "validate", "--deep", url, *s3_server.flags()], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_remove_files_aborts_the_uploads_a_killed_backup_left(s3_server: S3Server, s3_data: set[bytes]) -> None:
    bucket = s3_server.bucket("aborts")
    url = f"s3://{bucket}/k"
    first = _interrupt(_backup(s3_server, "-d", url, "-F", "12", "-L", "6000"), s3_server, bucket, "k/test.asb.state", signal.SIGKILL, 12_000)
    assert first.returncode == -signal.SIGKILL
    assert s3_server.uploads(bucket), "the killed backup left its upload open"
    p = subprocess.run(_backup(s3_server, "-d", url, "-r"), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "aborted the unfinished upload" in p.stderr
    assert s3_server.uploads(bucket) == [], "-r aborted the old upload; the new backup left none"
    assert "k/test.asb.state" not in s3_server.keys(bucket, "k/")


def test_bad_buckets_and_urls_are_said_and_nothing_is_written(s3_server: S3Server, s3_data: set[bytes]) -> None:
    p = subprocess.run(_backup(s3_server, "-d", "s3://no-such-bucket-for-asbkit/x"), capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "no-such-bucket-for-asbkit" in p.stderr, p.stderr[-2000:]
    assert "Backed up" not in p.stderr
    p = subprocess.run(_backup(s3_server, "-d", "s3:///x"), capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "names no bucket" in p.stderr, p.stderr[-2000:]
    p = subprocess.run(_asbkit("restore", "-d", "s3://no-such-bucket-for-asbkit/x", server=s3_server), capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "no-such-bucket-for-asbkit" in p.stderr, p.stderr[-2000:]
    bucket = s3_server.bucket("emptyprefix")
    p = subprocess.run(_asbkit("restore", "-d", f"s3://{bucket}/nothing", server=s3_server), capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "no .asb" in p.stderr, p.stderr[-2000:]
    # A store that cannot be reached: said, not waited on for minutes per request.
    p = subprocess.run(_backup(s3_server, "-d", f"s3://{bucket}/x", "--s3-endpoint-override", "http://127.0.0.1:1"), capture_output=True, text=True, timeout=600)
    assert p.returncode != 0 and "cannot be reached" in p.stderr, p.stderr[-2000:]
    assert s3_server.keys(bucket) == []


def test_uploads_survive_drops_and_a_dead_store_stops_with_the_state_saved(s3_server: S3Server, s3_data: set[bytes], tmp_path: Path) -> None:
    from ..helpers.faultproxy import FaultProxy, Faults

    bucket = s3_server.bucket("uploadfaults")
    host, port = s3_server.endpoint.rsplit("/", 1)[-1].split(":")
    # Connections cut while parts go up: the parts are sent again.
    proxy = FaultProxy((host, int(port)), Faults(drop_after_bytes=3 << 20, times=3, downstream=False))
    try:
        cmd = _backup(s3_server, "-d", f"s3://{bucket}/drops", "-F", "12", "--s3-endpoint-override", f"http://{proxy.addr}")
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    finally:
        proxy.close()
    assert p.returncode == 0, p.stderr[-3000:]
    assert proxy.faulted >= 1, "the fault really happened"
    assert set(records_of(_download(s3_server, bucket, "drops/", tmp_path / "drops"))) == s3_data
    # The store stops answering mid-backup: a clear error once the tries are spent, the
    # state saved (here beside us: the store cannot take it), and the backup continued
    # from it once the store is back, every record once.
    proxy = FaultProxy((host, int(port)), Faults())
    states = tmp_path / "states"
    states.mkdir()
    state = states / "test.asb.state"
    cmd = _backup(
        s3_server, "-d", f"s3://{bucket}/dead", "-F", "12", "-L", "6000", "--state-file-dst", str(states),
        "--s3-endpoint-override", f"http://{proxy.addr}", "--s3-read-timeout", "1", "--s3-max-retries", "1",
    )
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if sum(f["records"] for f in json.loads(state.read_text())["files"]) >= 12_000:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        proxy.faults = Faults(stall_seconds=600, stall_after_bytes=0, times=-1, downstream=False)
        out, err = proc.communicate(timeout=300)
    finally:
        proxy.close()
    stderr = err.decode()
    assert proc.returncode not in (0, None), stderr[-3000:]
    assert f"s3://{bucket}/dead/" in stderr and f"-c {state}" in stderr, stderr[-3000:]
    print(stderr[-1500:])  # the error as an operator reads it (shown with -s)
    assert json.loads(state.read_text())["files"], "the state was saved"
    last = subprocess.run(_backup(s3_server, "-d", f"s3://{bucket}/dead", "-F", "12", "--state-file-dst", str(states), "-c", str(state)), capture_output=True, text=True, timeout=300)
    assert last.returncode == 0, last.stderr[-3000:]
    assert set(records_of(_download(s3_server, bucket, "dead/", tmp_path / "dead"))) == s3_data
    assert s3_server.uploads(bucket) == [], "no upload left open"


def test_a_backup_killed_between_sealing_an_object_and_completing_it_completes_it_when_continued(s3_server: S3Server, s3_data: set[bytes], tmp_path: Path) -> None:
    """A full object is sealed (every part up), listed as complete in the saved state with
    what completes it, and only then completed. Held exactly there (its completion never
    reaches the store) and killed, the backup continued completes it: every record once."""
    from ..helpers.faultproxy import FaultProxy, Faults

    bucket = s3_server.bucket("sealed")
    host, port = s3_server.endpoint.rsplit("/", 1)[-1].split(":")
    proxy = FaultProxy((host, int(port)), Faults(hold_requests=(b"POST ", b"uploadId="), hold_seconds=600))
    state_key, state = "s/test.asb.state", f"s3://{bucket}/s/test.asb.state"
    # Throttled: states are saved while it runs, the first object sealed about 2 s in.
    cmd = _backup(s3_server, "-d", f"s3://{bucket}/s", "-F", "6", "-L", "8000", "--s3-endpoint-override", f"http://{proxy.addr}")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not proxy.faulted and proc.poll() is None:
            time.sleep(0.05)
        assert proxy.faulted, "no completion was attempted: " + (proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "")
        time.sleep(0.5)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        proxy.close()
    assert state_key in s3_server.keys(bucket, "s/"), (proxy.held, s3_server.keys(bucket, "s/"), proc.stderr.read().decode()[-3000:])
    saved = json.loads(s3_server.get(bucket, state_key))
    sealed = [f for f in saved["files"] if f.get("sha256") and f.get("resume")]
    assert sealed, saved["files"]
    assert all(not k.endswith(sealed[0]["name"].rsplit("/", 1)[-1]) for k in s3_server.keys(bucket, "s/")), "held before it was completed"
    last = subprocess.run(_backup(s3_server, "-d", f"s3://{bucket}/s", "-F", "6", "-c", state), capture_output=True, text=True, timeout=300)
    assert last.returncode == 0, last.stderr[-3000:]
    assert set(records_of(_download(s3_server, bucket, "s/", tmp_path / "s"))) == s3_data
    assert s3_server.uploads(bucket) == []
    p = subprocess.run([sys.executable, "-m", "asbkit", "validate", "--deep", f"s3://{bucket}/s", *s3_server.flags()], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
