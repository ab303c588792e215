"""A backup to stdout, interrupted (Ctrl-C, SIGTERM) and continued as C asbackup continues
one: the state goes to `<namespace>.asb.state` in the working directory (or
--state-file-dst), `-c STATE -o -` writes the rest, and a reader that appends the streams
(`>>`) holds one backup with every record once, restored so by asbkit and by C asrestore
(and C's own continued stream by asbkit). One node (ASBKIT_TEST_HOST) and three
(ASBKIT_TEST_CLUSTER)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from asbkit import Layers

from ..helpers.cluster_data import ASBACKUP, CLUSTER, HOST, fresh_set, records_of, split_addr
from ..helpers.files import vector

pytestmark = [pytest.mark.cluster, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
SET = "tostdout"
N = 12_000
#: About 1.6 kB a record: a node paced by -L sends about 650 records at a time (1 MiB).
PAYLOAD = 1500
#: About 8 s for the whole backup: each run is interrupted once its first bytes are out.
RATE = 1500
ASRESTORE = os.environ.get("ASBKIT_C_ASRESTORE")


@pytest.fixture(scope="module")
def one_node(host_client: Any) -> tuple[str, set[bytes]]:
    assert HOST
    return HOST, fresh_set(host_client, NS, SET, N, PAYLOAD)


@pytest.fixture(scope="module")
def three_nodes(cluster_client: Any) -> tuple[str, set[bytes]]:
    assert CLUSTER and len(cluster_client.get_nodes()) == 3
    return CLUSTER, fresh_set(cluster_client, NS, SET, N, PAYLOAD)


def _grows(path: Path, beyond: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.stat().st_size > beyond:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not grow past {beyond} bytes (the run ended: {proc.poll()})")


def _run(cmd: list[str], stream: Path, cwd: Path, sig: int | None, through_pipe: bool) -> tuple[int, str]:
    """One run appending its stdout to `stream` (directly, or through a pipe a reader copies
    from, as `| cat >>`); with `sig`, interrupted once its first bytes are out."""
    before = stream.stat().st_size if stream.exists() else 0
    with open(stream, "ab") as sink, open(cwd / "stderr.log", "w+") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if through_pipe else sink, stderr=log, cwd=cwd)
        copier = None
        if through_pipe:
            assert proc.stdout is not None
            copier = threading.Thread(target=_copy, args=(proc.stdout, sink))
            copier.start()
        if sig is not None:
            _grows(stream, before + 1000, proc)
            assert proc.poll() is None, "the run ended before it could be interrupted"
            proc.send_signal(sig)
        code = proc.wait(timeout=120)
        if copier is not None:
            copier.join(timeout=30)
        log.seek(0)
        return code, log.read()


def _copy(source: IO[bytes], sink: IO[bytes]) -> None:
    while chunk := source.read1(65536):  # type: ignore[attr-defined]
        sink.write(chunk)
        sink.flush()


def _interrupted_then_continued(seed: str, tmp_path: Path, extra: list[str], signals: list[int], through_pipe: bool = False, state_dst: Path | None = None, rate: int = RATE) -> Path:
    """A backup to stdout interrupted once per signal, each run continued from the state
    the last one saved, the last run to the end; the appended stream."""
    h, p = split_addr(seed)
    base = [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", NS, "-s", SET, "-o", "-", "--no-progress", *extra]
    if state_dst is not None:
        base += ["--state-file-dst", str(state_dst)]
    state = state_dst if state_dst is not None else tmp_path / f"{NS}.asb.state"
    stream = tmp_path / "stream.asb"
    continued: list[str] = []
    for sig in signals:
        code, log = _run(base + ["-L", str(rate)] + continued, stream, tmp_path, sig, through_pipe)
        assert code != 0, f"the run was not interrupted:\n{log[-2000:]}"
        assert state.exists(), f"no state at {state}:\n{log[-2000:]}"
        assert f"Created backup state file {state if state_dst else state.name}" in log, log[-2000:]
        assert f"--continue {state if state_dst else state.name}" in log
        continued = ["-c", str(state)]
    code, log = _run(base + continued, stream, tmp_path, None, through_pipe)
    assert code == 0, log[-3000:]
    assert not state.exists(), "a finished backup leaves no state"
    return stream


def _restored_by_asbkit(seed: str, stream: Path, layers: list[str]) -> None:
    h, p = split_addr(seed)
    with open(stream, "rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "asbkit", "restore", "-h", h, "-p", str(p), "-i", "-", "--no-progress", "--output", "json", *layers],
            stdin=stdin, capture_output=True, text=True, timeout=300,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    data = json.loads(done.stdout)["data"]
    assert data["records_read"] == N and data["failed"] == 0, data


@pytest.mark.parametrize(
    "extra, signals, through_pipe, rate",
    [
        # Eight jobs share -L: each node scan sends a chunk about every 2 s.
        (["-w", "8"], [signal.SIGINT, signal.SIGTERM], False, 2400),
        (["-z", "zstd"], [signal.SIGTERM, signal.SIGINT, signal.SIGINT], True, RATE),
    ],
    ids=["plain-w8", "zstd-pipe"],
)
def test_one_node_stream_continued_holds_every_record_once(one_node: tuple[str, set[bytes]], tmp_path: Path, extra: list[str], signals: list[int], through_pipe: bool, rate: int) -> None:
    seed, loaded = one_node
    stream = _interrupted_then_continued(seed, tmp_path, extra, signals, through_pipe, rate=rate)
    layers = Layers(compress="zstd") if "zstd" in extra else None
    assert set(records_of([stream], layers)) == loaded  # raises on a record twice
    _restored_by_asbkit(seed, stream, ["-z", "zstd"] if layers else [])


@pytest.mark.parametrize("cipher, compress", [("aes128", False), ("aes256", True)])
def test_encrypted_stream_goes_on_with_its_keystream(one_node: tuple[str, set[bytes]], tmp_path: Path, cipher: str, compress: bool) -> None:
    seed, loaded = one_node
    key = str(vector("tools-backup/test/test_key.pem"))
    flags = ["-y", cipher, "--encryption-key-file", key] + (["-z", "zstd"] if compress else [])
    states = tmp_path / "states"
    states.mkdir()
    stream = _interrupted_then_continued(seed, tmp_path, ["-w", "4", *flags], [signal.SIGINT, signal.SIGTERM], state_dst=states / "mine.state")
    layers = Layers(compress="zstd" if compress else None, encrypt=cipher, key_file=key)
    assert set(records_of([stream], layers)) == loaded
    _restored_by_asbkit(seed, stream, flags)
    if ASRESTORE:
        _restored_by_c(seed, stream, flags)


def _restored_by_c(seed: str, stream: Path, flags: list[str]) -> None:
    h, p = split_addr(seed)
    with open(stream, "rb") as stdin:
        done = subprocess.run([ASRESTORE or "", "-h", h, "-p", str(p), "-i", "-", *flags], stdin=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # asrestore's closing counters: every record read once; those it did not write were
    # there already (this test's records), none failed otherwise.
    assert re.search(rf"\b{N} record\(s\) \(", done.stderr), done.stderr[-3000:]
    counts = re.search(r"inserted (\d+): failed (\d+) \(existed (\d+) , fresher (\d+)\)", done.stderr)
    assert counts, done.stderr[-3000:]
    inserted, failed, existed, fresher = map(int, counts.groups())
    assert inserted + failed == N and failed == existed + fresher, counts.group(0)


@pytest.mark.skipif(not ASRESTORE, reason="set ASBKIT_C_ASRESTORE to a C asrestore binary")
def test_c_asrestore_reads_the_appended_stream(one_node: tuple[str, set[bytes]], tmp_path: Path) -> None:
    seed, loaded = one_node
    stream = _interrupted_then_continued(seed, tmp_path, ["-w", "2", "-z", "zstd"], [signal.SIGINT])
    assert set(records_of([stream], Layers(compress="zstd"))) == loaded
    _restored_by_c(seed, stream, ["-z", "zstd"])


@pytest.mark.skipif(not ASBACKUP, reason="set ASBKIT_C_ASBACKUP to a C asbackup binary")
def test_c_asbackup_stream_continued_is_read_by_asbkit(one_node: tuple[str, set[bytes]], tmp_path: Path) -> None:
    """The reverse: C asbackup interrupted on stdout and continued as it does, restored by
    asbkit from stdin."""
    seed, loaded = one_node
    h, p = split_addr(seed)
    common = [os.environ["ASBKIT_C_ASBACKUP"], "-h", h, "-p", str(p), "-n", NS, "-s", SET, "-o", "-", "-z", "zstd"]
    stream = tmp_path / "c.asb"
    code, log = _run([*common, "-L", str(RATE)], stream, tmp_path, signal.SIGINT, False)
    assert code != 0 and (tmp_path / f"{NS}.asb.state").exists(), log[-2000:]
    code, log = _run([*common, "-c", f"{NS}.asb.state"], stream, tmp_path, None, False)
    assert code == 0, log[-2000:]
    assert set(records_of([stream], Layers(compress="zstd"))) == loaded
    _restored_by_asbkit(seed, stream, ["-z", "zstd"])


def test_three_nodes_stream_continued_holds_every_record_once(three_nodes: tuple[str, set[bytes]], tmp_path: Path) -> None:
    seed, loaded = three_nodes
    stream = _interrupted_then_continued(seed, tmp_path, ["-w", "8"], [signal.SIGTERM, signal.SIGINT], through_pipe=True, rate=2400)
    assert set(records_of([stream])) == loaded
    _restored_by_asbkit(seed, stream, [])


def test_a_reader_gone_leaves_no_state_and_says_why(one_node: tuple[str, set[bytes]], tmp_path: Path) -> None:
    """Bytes already in a pipe are final: a reader that went away (EPIPE) may hold half a
    record, so nothing is saved to continue from, and the error says so."""
    seed, _ = one_node
    h, p = split_addr(seed)
    proc = subprocess.Popen(
        [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", NS, "-s", SET, "-o", "-", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(50_000)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) != 0
    assert "Broken pipe" in err and "cannot be continued" in err, err[-2000:]
    assert "node " not in err.splitlines()[-1], "the output failed, not a node"
    assert not (tmp_path / f"{NS}.asb.state").exists()
