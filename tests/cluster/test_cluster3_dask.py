"""Backups, restores and verifies run on Dask (`--dask`, `asbkit.sharded`): a LocalCluster of
worker processes against the three-node cluster (ASBKIT_TEST_CLUSTER, namespace `test`),
writing to a shared local directory and to the S3 test server. Every record exactly once,
whatever is killed: a worker process, the driver, an Aerospike node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import asbkit
import asbkit.sharded
from asbkit import BackupOptions, ClusterConfig, RestoreOptions

from ..helpers.cluster_data import CLUSTER, CLUSTER_DIR, asb_files, load_bulk, needs_cluster, records_of, restart, split_addr, truncate
from ..helpers.dask_cluster import local_dask

pytestmark = [pytest.mark.cluster, needs_cluster, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
N = 40_000


@pytest.fixture(scope="module")
def s3(request: pytest.FixtureRequest) -> Any:
    """The S3 test server, started before the workers (they take its credentials from the
    environment they are started with); None when it cannot run here."""
    try:
        return request.getfixturevalue("s3_server")
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="module")
def dask_cluster(s3: Any) -> Iterator[Any]:
    """Two single-threaded worker processes (not threads), as separate hosts would be."""
    pytest.importorskip("distributed", reason="the Dask tests need distributed (pip install '.[test]')")
    import dask  # after distributed, whose defaults the config.set below must not hide

    # A killed worker's locks are let go within seconds (the default is 30 s).
    with dask.config.set({"distributed.scheduler.locks.lease-timeout": "3s", "distributed.scheduler.locks.lease-validation-interval": "1s"}), local_dask(2, threads_per_worker=1) as client:
        yield client


@pytest.fixture(scope="module")
def loaded(cluster_client: Any) -> set[bytes]:
    assert len(cluster_client.get_nodes()) == 3, "the test cluster should have three nodes"
    truncate(cluster_client, NS)
    load_bulk(cluster_client, NS, N)
    seen: set[bytes] = set()
    cluster_client.query(NS, None).foreach(lambda rec: seen.add(bytes(rec[0][3])))
    assert len(seen) == N
    return seen


def _keep_errors() -> None:
    """Keeps the ERROR records of Dask's loggers in this process (run on each worker too)."""
    import logging

    class KeptErrors(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.ERROR)
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(f"{record.name} - {record.getMessage()}")

    logging.getLogger("distributed").addHandler(KeptErrors())


def _kept_errors(drop: bool = False) -> list[str]:
    import logging

    root = logging.getLogger("distributed")
    kept = [h for h in root.handlers if type(h).__name__ == "KeptErrors"]
    if drop:
        for h in kept:
            root.removeHandler(h)
    return [line for h in kept for line in h.lines]  # type: ignore[attr-defined]


@pytest.fixture
def dask_errors(dask_cluster: Any) -> Iterator[Callable[[], list[str]]]:
    """The ERROR lines Dask logs while the test runs: the scheduler's (in this process)
    and the workers' (kept on each worker running now). A run, or a stop, must leave none:
    operators watch those logs."""
    keep, kept = _keep_errors, _kept_errors
    keep()
    dask_cluster.run(keep)

    def seen() -> list[str]:
        time.sleep(2)  # what a task still running logs as it ends
        lines = kept()
        for worker, theirs in dask_cluster.run(kept, on_error="return").items():
            lines += [f"{worker}: {line}" for line in theirs] if isinstance(theirs, list) else []
        return lines

    yield seen
    kept(True)
    dask_cluster.run(kept, True, on_error="return")


def seed() -> ClusterConfig:
    h, p = split_addr(CLUSTER or "")
    return ClusterConfig(hosts=h, port=p, socket_timeout_ms=2000)


def worker_pids(client: Any) -> dict[str, int]:
    return dict(client.run(os.getpid))


def test_a_backup_on_dask_holds_the_records_of_a_single_process_backup(dask_cluster: Any, loaded: set[bytes], tmp_path: Path) -> None:
    single = asbkit.backup(seed(), namespace=NS, directory=str(tmp_path / "one"), parallel=2)
    report = asbkit.sharded.backup(dask_cluster, seed(), namespace=NS, directory=str(tmp_path / "dask"))
    one, many = records_of(asb_files(tmp_path / "one")), records_of(asb_files(tmp_path / "dask"))  # each raises on a digest twice
    assert set(many) == set(one) == loaded
    assert report.records == single.records == N
    # One backup: shards under their own prefixes, one manifest over all of them, that
    # validate --deep checks as a whole; no shard manifest or state left.
    names = sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert names == sorted([*(f.name for f in asb_files(tmp_path / "dask")), "test.manifest.json"]), names
    assert len({n.split("_")[0] for n in names if n.endswith(".asb")}) == len(report.shards) > 2
    manifest = json.loads((tmp_path / "dask" / "test.manifest.json").read_text())
    assert manifest["totals"]["records"] == N and manifest["totals"]["files"] == len(asb_files(tmp_path / "dask"))
    deep = asbkit.validate(str(tmp_path / "dask"), deep=True)
    assert deep.findings == 0 and deep.deep is not None and deep.deep.manifests == [str(tmp_path / "dask" / "test.manifest.json")], deep
    # Every worker ran shards; the plan is balanced (equal partition counts per node here).
    assert {s.worker for s in report.shards} == set(worker_pids(dask_cluster))
    assert report.balance is not None and report.balance < 1.3
    assert sum(s.records for s in report.shards) == N


def test_a_restore_and_verify_on_dask_agree(dask_cluster: Any, loaded: set[bytes], cluster_client: Any, tmp_path: Path, dask_errors: Callable[[], list[str]]) -> None:
    d = str(tmp_path / "bk")
    asbkit.sharded.backup(dask_cluster, seed(), namespace=NS, directory=d, file_limit=1)
    files = asb_files(d)
    assert len(files) > 4
    truncate(cluster_client, NS)
    report = asbkit.sharded.restore(dask_cluster, seed(), directory=d)
    assert report.records_read == N and report.inserted == N and report.failed == 0
    checked = asbkit.sharded.verify(dask_cluster, seed(), directory=d)
    assert checked.records_read == N and checked.same == N and checked.findings == 0
    # A record gone from the cluster: verify on Dask says which.
    gone = next(iter(records_of(files[:1])))
    cluster_client.remove((NS, None, None, bytearray(gone)))
    checked = asbkit.sharded.verify(dask_cluster, seed(), directory=d)
    assert checked.missing == 1 and checked.same == N - 1
    assert checked.differences[0].digest == __import__("base64").b64encode(gone).decode()
    # Restored again (-u: only what is missing is written), the cluster holds the backup.
    again = asbkit.sharded.restore(dask_cluster, seed(), directory=d, unique=True)
    assert again.inserted == 1 and again.existed == N - 1
    assert dask_errors() == []


def run_in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # the test reads it
            box["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    return t, box


def wait_for(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_worker_killed_mid_backup_has_its_shard_continued_from_its_state(dask_cluster: Any, loaded: set[bytes], tmp_path: Path, dask_errors: Callable[[], list[str]]) -> None:
    d = tmp_path / "bk"
    seen = {"records": 0}
    # Throttled (-L is the whole run's: two shards at once, 4,000 records/s each) so the
    # kill lands in the middle of the first two shards.
    t, box = run_in_thread(lambda: asbkit.sharded.backup(
        dask_cluster, seed(), namespace=NS, directory=str(d), records_per_second=8000, shards=4,
        on_progress=lambda p: seen.__setitem__("records", p.records),
    ))
    wait_for(lambda: seen["records"] >= N // 6 and list(d.glob("test-s*.asb.state")), "the shards' first states")
    victim = sorted(worker_pids(dask_cluster).values())[0]
    os.kill(victim, signal.SIGKILL)
    at_kill = seen["records"]
    t.join(timeout=300)
    assert "error" not in box, box.get("error")
    report = box["result"]
    assert 0 < at_kill < N
    assert set(records_of(asb_files(d))) == loaded  # raises on a digest twice
    assert report.records == N
    continued = [s for s in report.shards if s.continued]
    assert continued, "no shard was continued from its state: the kill restarted it from the start"
    assert not list(d.glob("*.state")) and not list(d.glob("test-s*.manifest.json"))
    assert dask_errors() == []


def cli(*args: str, **kw: Any) -> subprocess.Popen[bytes]:
    h, p = split_addr(CLUSTER or "")
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kw}
    return subprocess.Popen([sys.executable, "-m", "asbkit", *args[:1], "-h", h, "-p", str(p), *args[1:]], **streams)


def test_the_driver_killed_is_continued_from_the_shards_states(dask_cluster: Any, loaded: set[bytes], tmp_path: Path) -> None:
    d = tmp_path / "bk"
    address = dask_cluster.scheduler.address
    # Slow (-L 1000: 40 s in all) so the tasks the killed driver leaves are mid-shard.
    args = ["backup", "-n", NS, "-d", str(d), "--dask", address, "--dask-shards", "6", "-L", "1000", "--no-progress"]
    proc = cli(*args)
    wait_for(lambda: len(list(d.glob("test-s*.asb.state"))) >= 2 or proc.poll() is not None, "shards' states")
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = d / "test.asb.state"
    assert json.loads(state.read_text())["format"] == "asbkit-sharded-backup-state"

    # Without their driver's heartbeat the tasks stop within seconds (a running shard saves
    # its state every second; a stopped one no more), unfinished.
    killed = time.time()

    def states_still() -> bool:
        states = list(d.glob("test-s*.asb.state"))
        return bool(states) and time.time() - max(p.stat().st_mtime for p in states) > 3

    wait_for(states_still, "the left tasks to stop", timeout=60)
    assert time.time() - killed < 30
    assert len(list(d.glob("test-s*.manifest.json"))) < 6, "the left tasks ran on to the end"
    # The same arguments with -c (-L left out: it may change): the shards go on from their
    # states; the tasks the killed driver left stop writing before theirs start.
    done = cli("backup", "-n", NS, "-d", str(d), "--dask", address, "--dask-shards", "6", "-c", str(state), "--no-progress", "--output", "json")
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err.decode()[-3000:]
    assert set(records_of(asb_files(d))) == loaded
    assert json.loads(out)["data"]["records"] == N
    assert not state.exists() and (d / "test.manifest.json").exists()
    # Without --dask, the state is refused in words.
    with pytest.raises(asbkit.AsbError, match="continue it with --dask"):
        from asbkit.backing_up.state import load_state

        (d / "again.state").write_text(json.dumps({"format": "asbkit-sharded-backup-state"}))
        load_state(d / "again.state")


@pytest.mark.skipif(not CLUSTER_DIR, reason="set ASBKIT_TEST_CLUSTER_DIR to cluster3.sh's node directory to kill a node")
def test_an_aerospike_node_killed_mid_backup_on_dask(dask_cluster: Any, loaded: set[bytes], cluster_client: Any, tmp_path: Path) -> None:
    d = tmp_path / "bk"
    victim = Path(CLUSTER_DIR or "") / "n2"
    seen = {"records": 0}
    t, box = run_in_thread(lambda: asbkit.sharded.backup(
        dask_cluster, seed(), namespace=NS, directory=str(d), records_per_second=8000, shards=4, max_retries=10,
        on_progress=lambda p: seen.__setitem__("records", p.records),
    ))
    try:
        wait_for(lambda: seen["records"] >= N // 5 or not t.is_alive(), "a fifth of the records")
        os.kill(int((victim / "asd.pid").read_text()), signal.SIGKILL)
        at_kill = seen["records"]
        t.join(timeout=300)
        assert "error" not in box, box.get("error")
        assert 0 < at_kill < N
        assert set(records_of(asb_files(d))) == loaded
        assert box["result"].records == N
    finally:
        restart(victim, cluster_client)


def test_a_backup_restore_and_verify_through_s3_on_dask(dask_cluster: Any, loaded: set[bytes], cluster_client: Any, s3: Any, tmp_path: Path) -> None:
    if s3 is None:
        pytest.skip("the S3 test server (moto) is not installed")
    from asbkit.io.s3 import S3Options

    s3.client.create_bucket(Bucket="dask")
    store = S3Options(s3_endpoint_override=s3.endpoint)
    url = "s3://dask/backups/test"
    zstd = asbkit.Layers(compress="zstd")
    report = asbkit.sharded.backup(dask_cluster, seed(), BackupOptions(namespace=NS, directory=url, s3=store, file_limit=1, layers=zstd))
    assert report.records == N
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket="dask", Prefix="backups/test/")["Contents"]]
    assert "backups/test/test.manifest.json" in keys and not [k for k in keys if k.endswith((".state", "-probe")) or "probe" in k]
    assert asbkit.validate(url, zstd, deep=True).findings == 0
    truncate(cluster_client, NS)
    o = RestoreOptions(directory=url, s3=store, layers=zstd)
    restored = asbkit.sharded.restore(dask_cluster, seed(), o)
    assert restored.inserted == N and restored.failed == 0
    checked = asbkit.sharded.verify(dask_cluster, seed(), o)
    assert checked.same == N and checked.findings == 0


def test_a_worker_killed_mid_restore_has_its_file_restored_again_and_counted_once(dask_cluster: Any, loaded: set[bytes], cluster_client: Any, tmp_path: Path) -> None:
    d = str(tmp_path / "bk")
    asbkit.sharded.backup(dask_cluster, seed(), namespace=NS, directory=d, file_limit=2)
    assert len(asb_files(d)) >= 4
    truncate(cluster_client, NS)
    seen = {"read": 0}
    # 4,000 records/s in all (2,000 for each of the two files read at once): ~10 s.
    t, box = run_in_thread(lambda: asbkit.sharded.restore(
        dask_cluster, seed(), directory=d, tps=4000, on_progress=lambda p: seen.__setitem__("read", p.counts.read),
    ))
    wait_for(lambda: seen["read"] >= N // 4 or not t.is_alive(), "a quarter of the records")
    os.kill(sorted(worker_pids(dask_cluster).values())[-1], signal.SIGKILL)
    at_kill = seen["read"]
    t.join(timeout=300)
    assert "error" not in box, box.get("error")
    report = box["result"]
    assert 0 < at_kill < N
    # Each file's records counted once (the lost try's counters are not summed).
    assert report.records_read == N and report.failed == 0
    # What the lost try wrote, its rerun finds there: "fresher" (same generation).
    assert report.inserted + report.fresher == N and 0 < report.fresher < N
    checked = asbkit.sharded.verify(dask_cluster, seed(), directory=d)
    assert checked.same == N and checked.findings == 0


def on_a_terminal(*args: str) -> tuple[int, bytes]:
    """Runs the command on a pseudo-terminal: its exit code and all it showed."""
    import pty

    primary, secondary = pty.openpty()
    proc = cli(*args, stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    code = proc.wait(timeout=120)
    os.close(primary)
    return code, seen


def test_the_cli_on_dask_shows_one_live_display_and_logs_in_c_form_otherwise(dask_cluster: Any, loaded: set[bytes], tmp_path: Path) -> None:
    address = dask_cluster.scheduler.address
    # On a terminal: records, rate, percent and the shards running, live.
    code, seen = on_a_terminal("backup", "-n", NS, "-d", str(tmp_path / "tty"), "--dask", address, "-L", "12000")
    assert code == 0, seen[-2000:]
    assert b"shards running" in seen and b"rec/s" in seen, seen[-2000:]
    # Not on a terminal: the C tools' log lines, the summary last.
    out = cli("backup", "-n", NS, "-d", str(tmp_path / "log"), "--dask", address)
    _, err = out.communicate(timeout=120)
    lines = err.decode().splitlines()
    assert out.returncode == 0, err.decode()[-2000:]
    assert all(" GMT [INF] [" in line for line in lines), lines
    assert lines[-1].split("] ", 2)[-1].startswith(f"Backed up {N} record(s)")
    # A restore on a terminal shows the pieces running (-N: 8,000 records/s, about 5 s).
    code, seen = on_a_terminal("restore", "-d", str(tmp_path / "log"), "--dask", address, "-N", "100,8000")
    assert code == 0, seen[-2000:]
    assert b"pieces running" in seen, seen[-2000:]


def test_a_big_file_is_restored_and_verified_in_pieces_on_dask(dask_cluster: Any, loaded: set[bytes], cluster_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from asbkit import _codec

    one = tmp_path / "one.asb"
    asbkit.backup(seed(), namespace=NS, output_file=str(one))
    cuts = _codec.proven_cuts(one, 1 << 20, threads=2)
    assert len(cuts) >= 8
    truncate(cluster_client, NS)
    caplog.set_level("INFO", logger="asbkit.restore")
    # -N's records/s bound the whole run, however many pieces one file gave.
    start = time.monotonic()
    report = asbkit.sharded.restore(dask_cluster, seed(), input_file=str(one), piece_bytes=1 << 20, tps=10_000)
    took = time.monotonic() - start
    assert report.records_read / took <= 10_000 * 1.1, f"{report.records_read} records in {took:.2f} s"
    assert f"1 file(s) in {len(cuts) + 1} piece(s)" in caplog.text
    # Every record once, every byte read once.
    assert report.records_read == N and report.inserted == N and report.failed == 0
    assert report.bytes_read == one.stat().st_size
    checked = asbkit.sharded.verify(dask_cluster, seed(), input_file=str(one), piece_bytes=1 << 20)
    assert checked.records_read == N and checked.same == N and checked.findings == 0


def test_an_interrupted_run_continues_and_never_redoes_a_finished_shard(dask_cluster: Any, loaded: set[bytes], tmp_path: Path, dask_errors: Callable[[], list[str]]) -> None:
    d = tmp_path / "bk"
    cancel = asbkit.Cancel()

    def progress(p: asbkit.BackupProgress) -> None:
        # Six even shards (two a node), two at a time: past 45 %, the first two are done
        # and the next two a third of the way.
        if p.records >= 0.45 * N:
            cancel.set()

    with pytest.raises(asbkit.Interrupted) as stopped:
        asbkit.sharded.backup(dask_cluster, seed(), namespace=NS, directory=str(d), records_per_second=8000, shards=6, on_progress=progress, cancel=cancel)
    state = stopped.value.report.state_file  # type: ignore[attr-defined]
    assert state == str(d / "test.asb.state")
    assert len(list(d.glob("test-s*.manifest.json"))) >= 1 and list(d.glob("test-s*.asb.state"))
    report = asbkit.sharded.backup(dask_cluster, seed(), namespace=NS, directory=str(d), records_per_second=8000, shards=6, continue_from=state)
    done_before = [s for s in report.shards if s.already_done]
    assert done_before and all(s.seconds == 0 and s.records for s in done_before)
    assert any(s.continued for s in report.shards)
    assert set(records_of(asb_files(d))) == loaded
    assert report.records == N
    assert dask_errors() == [], "a run and a stop leave no ERROR in Dask's logs"


def test_restore_and_verify_on_dask_from_the_command_line(dask_cluster: Any, loaded: set[bytes], cluster_client: Any, tmp_path: Path) -> None:
    d = str(tmp_path / "bk")
    address = dask_cluster.scheduler.address
    made = cli("backup", "-n", NS, "-d", d, "--dask", address, "--output", "json", "-F", "2")
    out, err = made.communicate(timeout=120)
    assert made.returncode == 0, err.decode()[-2000:]
    truncate(cluster_client, NS)
    restored = cli("restore", "-d", d, "--dask", address, "--output", "json")
    out, err = restored.communicate(timeout=120)
    assert restored.returncode == 0, err.decode()[-2000:]
    assert json.loads(out)["data"]["inserted"] == N
    # asrestore's closing lines for the whole run, last (the progress lines before them,
    # one a second then every ten, may already count every record).
    lines = [line.split("] ", 2)[-1] for line in err.decode().splitlines()]
    assert lines[-2:] == ["Expired 0 : skipped 0 : err_ignored 0 : inserted 40000: failed 0 (existed 0 , fresher 0)", "100% complete, ~0s remaining"], lines
    assert lines[-3].startswith(f"0 UDF file(s), 0 secondary index(es), {N} record(s) ("), lines
    checked = cli("verify", d, "--dask", address, "--output", "json")
    out, err = checked.communicate(timeout=120)
    assert checked.returncode == 0, err.decode()[-2000:]
    assert json.loads(out)["data"]["same"] == N


def test_workers_that_cannot_reach_the_cluster_are_named(dask_cluster: Any, loaded: set[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from asbkit.sharded import engine

    from ..helpers.faultproxy import FaultProxy

    # The seed is a proxy the driver reaches; it is gone by the time the shards start (as a
    # seed the driver's host reaches and the workers' hosts do not).
    proxy = FaultProxy(split_addr(CLUSTER or ""))
    checked = engine.check_shared

    def then_unreachable(*args: Any) -> None:
        checked(*args)
        proxy.close()

    monkeypatch.setattr(engine, "check_shared", then_unreachable)
    config = ClusterConfig(hosts="127.0.0.1", port=proxy.port, socket_timeout_ms=2000, connect_timeout_ms=1000)
    with pytest.raises(asbkit.BackupFailed) as caught:
        asbkit.sharded.backup(dask_cluster, config, namespace=NS, directory=str(tmp_path / "bk"), shards=2)
    message = str(caught.value)
    workers = set(worker_pids(dask_cluster))
    assert any(f"on worker {w}" in message for w in workers), message
    assert f"cannot connect to 127.0.0.1 (port {proxy.port})" in message and "continue with -c" in message, message
    assert caught.value.report.state_file == str(tmp_path / "bk" / "test.asb.state")  # type: ignore[attr-defined]
