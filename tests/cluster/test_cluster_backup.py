"""`asbkit backup` against a real one-node server (ASBKIT_TEST_HOST; namespace `bar` is
truncated and reloaded): fidelity, every option, output forms, faults on the connection."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asbkit import AsbClusterError, AsbLayerError, BackupOptions, ClusterConfig, Layers, backup

from ..helpers.cluster_data import ASBACKUP, HOST, asb_files, index_lines, load_mixed, needs_host, records_of, split_addr, truncate
from ..helpers.faultproxy import FaultProxy, Faults
from ..helpers.results import result_of

pytestmark = [pytest.mark.cluster, needs_host, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "bar"
N = 1200


@pytest.fixture(scope="module")
def client(host_client: Any) -> Any:
    return host_client


@pytest.fixture(scope="module")
def loaded(client: Any) -> Iterator[list[Any]]:
    truncate(client, NS)
    for name in ("asbkit_idx_int", "asbkit_idx_list"):
        client.info_all(f"sindex-delete:namespace={NS};indexname={name}")
    keys = load_mixed(client, NS, N)
    client.info_all(f"sindex-create:namespace={NS};set=s1;indexname=asbkit_idx_int;bin=int;type=numeric")
    client.info_all(f"sindex-create:namespace={NS};set=s2;indexname=asbkit_idx_list;bin=list;type=string;indextype=list")
    yield keys
    for name in ("asbkit_idx_int", "asbkit_idx_list"):
        client.info_all(f"sindex-delete:namespace={NS};indexname={name}")


@pytest.fixture(scope="module")
def udf(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("udf") / "asbkit_test.lua"
    path.write_text("function hello(rec)\n  return 1\nend\n")
    client.udf_put(str(path))
    time.sleep(0.5)
    yield path.read_text()
    client.udf_remove("asbkit_test.lua")


def config(host: str | None = None) -> ClusterConfig:
    h, p = split_addr(host or HOST or "")
    return ClusterConfig(hosts=h, port=p)


def run(tmp: Path, **kw: Any) -> tuple[Any, dict[bytes, str]]:
    kw.setdefault("directory", str(tmp / "bk"))
    layers = kw.get("layers")
    result = result_of(backup, config(kw.pop("host", None)), BackupOptions(namespace=NS, **kw))
    assert result.ok, result.errors
    paths = asb_files(kw["directory"]) if kw.get("directory") else [Path(kw["output_file"])]
    return result, records_of(paths, layers)


def digests_on_server(client: Any, sets: list[str] | None = None) -> set[bytes]:
    seen: set[bytes] = set()
    q = client.query(NS, None)
    q.foreach(lambda rec: seen.add(bytes(rec[0][3])))
    if sets is None:
        return seen
    out: set[bytes] = set()
    q = client.query(NS, None)

    def keep(rec: Any) -> None:
        if rec[0][1] in sets:
            out.add(bytes(rec[0][3]))

    q.foreach(keep)
    return out


def test_every_record_once_with_its_particles_and_metadata(loaded: list[Any], udf: str, client: Any, tmp_path: Path) -> None:
    result, recs = run(tmp_path, parallel=2)
    assert set(recs) == digests_on_server(client)
    assert len(recs) == N
    r = result.data
    # Ours among them (a user's cluster holds others), each counted.
    lines = index_lines(asb_files(tmp_path / "bk")[0])
    assert r.records == N and r.indexes == len(lines) >= 2 and r.udfs >= 1
    # Raw list and map bytes are the server's own (the client's undeserialized form).
    for key in loaded[:60]:
        (_, _, _, digest), meta, bins = client.get(key, {"deserialize": False})
        text = recs[bytes(digest)]
        assert f"+ g {meta['gen']}\n" in text
        for name in ("list", "map", "kmap"):
            if name in bins:
                raw = bytes(bins[name])
                letter = "L" if name == "list" else "M"
                assert f"- {letter} {name} {len(base64.b64encode(raw))} {base64.b64encode(raw).decode()}\n" in text
        if key[2] is not None and isinstance(key[2], str) and "+ k S" in text:
            assert f"+ k S {len(key[2])} {key[2]}\n" in text
    first = asb_files(tmp_path / "bk")[0].read_text()
    head = first.split("\n+ ", 1)[0]
    assert head.startswith("Version 3.1\n# namespace bar\n# first-file\n")
    assert "* i bar s1 asbkit_idx_int N 1 int N\n" in head
    assert "* i bar s2 asbkit_idx_list L 1 list S\n" in head
    assert f"* u L asbkit_test.lua {len(udf)} {udf}" in head
    # Ordered lists keep their flag; GeoJSON carries no cell ids; void times are absolute.
    lists = [base64.b64decode(l.split(" ")[4]) for t in recs.values() for l in t.split("\n") if l.startswith("- L list ")]
    assert sum(1 for raw in lists if raw[1:4] == b"\xc7\x00\x01") == sum(1 for i in range(N) if i % 5 == 1)
    assert any('- G geo ' in t and '{"type": "Point"' in t for t in recs.values())
    assert any("- Y hll " in t for t in recs.values())
    assert any("- Z bool T\n" in t for t in recs.values())
    now_cl = int(time.time()) - 1262304000
    for t in recs.values():
        void = int(t.split("+ t ", 1)[1].split("\n", 1)[0])
        assert void == 0 or now_cl < void <= now_cl + 51 * 86400
    # The manifest accounts for every file.
    import hashlib
    import json

    manifest = json.loads((tmp_path / "bk" / "bar.manifest.json").read_text())
    assert manifest["totals"]["records"] == N
    for f in manifest["files"]:
        data = (tmp_path / "bk" / f["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]


@pytest.mark.skipif(not ASBACKUP, reason="set ASBKIT_C_ASBACKUP to a C asbackup binary")
def test_same_records_as_c_asbackup(loaded: list[Any], udf: str, tmp_path: Path) -> None:
    _, ours = run(tmp_path, parallel=2)
    h, p = split_addr(HOST or "")
    subprocess.run([ASBACKUP or "", "-h", h, "-p", str(p), "-n", NS, "-d", str(tmp_path / "c")], check=True, capture_output=True)
    theirs = records_of(asb_files(tmp_path / "c"))
    assert set(ours) == set(theirs)
    for d, text in ours.items():
        c_text = theirs[d]
        if text != c_text:
            # C recomputes the void time from a TTL at write time: it may be one second later.
            mine, c = text.split("\n"), c_text.split("\n")
            diff = [(a, b) for a, b in zip(mine, c) if a != b]
            assert len(mine) == len(c) and all(a.startswith("+ t ") and 0 <= int(b[4:]) - int(a[4:]) <= 1 for a, b in diff), diff
    # The same index and UDF lines, in the same place.
    def head(path: Path) -> list[str]:
        return [l for l in path.read_text(errors="replace").split("\n+ ", 1)[0].split("\n") if l.startswith(("* ", "#", "Version"))]

    def as_c_writes_it(line: str) -> str:
        # On purpose (README): C 4.5.8 writes an index on no set as one on a set "null".
        return line.replace(f"* i {NS}  ", f"* i {NS} null ", 1)

    assert sorted(map(as_c_writes_it, head(asb_files(tmp_path / "bk")[0]))) == sorted(head(next(p for p in asb_files(tmp_path / "c") if "# first-file" in p.read_text(errors="replace")[:200])))


def test_sets_bins_and_metadata_selections(loaded: list[Any], client: Any, tmp_path: Path) -> None:
    _, one = run(tmp_path / "a", sets=["s1"])
    assert set(one) == digests_on_server(client, ["s1"])
    assert all("+ s s1\n" in t for t in one.values())
    _, two = run(tmp_path / "b", sets=["s1", "s2"], parallel=2)
    assert set(two) == digests_on_server(client, ["s1", "s2"])
    _, bins = run(tmp_path / "c", bin_list=["int", "str"])
    assert len(bins) == N
    assert all(set(l.split(" ")[2] for l in t.split("\n") if l.startswith("- ")) <= {"int", "str"} for t in bins.values())
    _, nobins = run(tmp_path / "d", no_bins=True)
    assert len(nobins) == N and all("+ b 0\n" in t and "\n- " not in t for t in nobins.values())
    r, none = run(tmp_path / "e", no_records=True)
    assert none == {} and r.data.indexes == len(index_lines(asb_files(tmp_path / "e" / "bk")[0])) >= 2
    head = asb_files(tmp_path / "e" / "bk")[0].read_text()
    assert "* i " in head and "* u " in head
    r, _ = run(tmp_path / "f", no_indexes=True, no_udfs=True)
    head = asb_files(tmp_path / "f" / "bk")[0].read_text().split("\n+ ", 1)[0]
    assert "* i " not in head and "* u " not in head and r.data.indexes == 0 and r.data.udfs == 0


def test_partition_selections_and_max_records(loaded: list[Any], client: Any, tmp_path: Path) -> None:
    from asbkit.cluster.partitions import partition_of

    everything = digests_on_server(client)
    _, part = run(tmp_path / "a", partition_list="0-1000,2000-10")
    want = {d for d in everything if partition_of(d) < 1000 or 2000 <= partition_of(d) < 2010}
    assert set(part) == want
    ordered = sorted(everything, key=lambda d: (partition_of(d), d))
    pivot = ordered[len(ordered) // 2]
    pid = partition_of(pivot)
    _, after = run(tmp_path / "b", after_digest=base64.b64encode(pivot).decode())
    assert pivot not in after
    assert {d for d in everything if partition_of(d) > pid} <= set(after)
    assert all(partition_of(d) >= pid for d in after)
    _, capped = run(tmp_path / "c", max_records=100, parallel=2)
    assert 100 <= len(capped) <= 101
    _, digest_item = run(tmp_path / "d", partition_list=base64.b64encode(pivot).decode())
    assert set(digest_item) <= {d for d in everything if partition_of(d) == pid} and pivot not in digest_item


def test_time_and_ttl_filters(loaded: list[Any], client: Any, tmp_path: Path) -> None:
    _, future = run(tmp_path / "a", modified_after="2099-01-01")
    assert future == {}
    _, past = run(tmp_path / "b", modified_before="2099-01-01_00:00:00")
    assert len(past) == N
    _, never = run(tmp_path / "c", no_ttl_only=True)
    assert never and all("+ t 0\n" in t for t in never.values())
    _, plain = run(tmp_path / "p")
    assert set(never) == {d for d, t in plain.items() if "+ t 0\n" in t}
    _, exp = run(tmp_path / "d", filter_exp=base64.b64encode(bytes.fromhex("93019145ff")).decode())
    assert set(exp) == set(never)
    r = result_of(backup, config(), BackupOptions(namespace=NS, directory=str(tmp_path / "e"), filter_exp="kwGRRf8=", no_ttl_only=True))
    assert not r.ok and "--filter-exp" in str(r.errors[0])


def test_layers_compact_and_rotation(loaded: list[Any], client: Any, tmp_path: Path, test_key: Path) -> None:
    plain = run(tmp_path / "p")[1]
    for layers in (Layers(compress="zstd"), Layers(encrypt="aes256", key_file=str(test_key)), Layers(compress="zstd", encrypt="aes128", key_file=str(test_key), compression_level=9)):
        _, recs = run(tmp_path / layers.describe(), layers=layers)
        assert recs == plain
        # Read without its layers, the file says which it has.
        with pytest.raises(AsbLayerError, match="probably encrypted" if layers.encrypt else "zstd-compressed: pass --compress zstd"):
            records_of(asb_files(tmp_path / layers.describe() / "bk"))
    _, compact = run(tmp_path / "c", compact=True)
    assert set(compact) == set(plain)
    assert any("- B! bytes 3 " in t for t in compact.values())
    assert not any("- B! " in t for t in plain.values())
    r, rotated = run(tmp_path / "r", file_limit=1, output_file_prefix="bk", parallel=2)
    files = asb_files(tmp_path / "r" / "bk")
    assert rotated == plain
    assert [f.name for f in files] == [f"bk_{i:05d}.asb" for i in range(len(files))]


def test_single_file_stdout_and_existing_outputs(loaded: list[Any], client: Any, tmp_path: Path) -> None:
    out = tmp_path / "one.asb"
    _, recs = run(tmp_path, directory=None, output_file=str(out), parallel=2)
    assert len(recs) == N and out.read_text().startswith("Version 3.1\n# namespace bar\n# first-file\n")
    again = result_of(backup, config(), BackupOptions(namespace=NS, output_file=str(out)))
    assert not again.ok and "-r/--remove-files" in str(again.errors[0])
    replaced = result_of(backup, config(), BackupOptions(namespace=NS, output_file=str(out), remove_files=True, sets=["s1"]))
    assert replaced.ok and len(records_of([out])) < N
    d = tmp_path / "bk"
    run(tmp_path)
    refused = result_of(backup, config(), BackupOptions(namespace=NS, directory=str(d)))
    assert not refused.ok and "--remove-files" in str(refused.errors[0])
    gone = result_of(backup, config(), BackupOptions(namespace=NS, directory=str(d), remove_artifacts=True))
    assert gone.ok and not d.exists()
    h, p = split_addr(HOST or "")
    proc = subprocess.run(
        [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", NS, "-o", "-", "-s", "s2"],
        capture_output=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    piped = tmp_path / "piped.asb"
    piped.write_bytes(proc.stdout)
    assert set(records_of([piped])) == digests_on_server(client, ["s2"])
    assert b"Backed up " in proc.stderr and b" record(s), 1 secondary index(es), " in proc.stderr


def test_errors_name_the_cause(loaded: list[Any], tmp_path: Path) -> None:
    r = result_of(backup, config(), BackupOptions(namespace="nosuchns", directory=str(tmp_path / "x")))
    assert not r.ok and "nosuchns" in str(r.errors[0]) and "-n/--namespace" in str(r.errors[0])
    r = result_of(backup, config("127.0.0.1:1"), BackupOptions(namespace=NS, directory=str(tmp_path / "y")))
    assert not r.ok and "127.0.0.1" in str(r.errors[0])
    assert r.exit_code != 0


@pytest.mark.parametrize("faults", [Faults(drop_after_bytes=60_000, times=3), Faults(stall_seconds=3, stall_after_bytes=30_000, times=1)], ids=["drop", "stall"])
def test_dropped_and_stalled_connections_are_retried(loaded: list[Any], client: Any, tmp_path: Path, faults: Faults) -> None:
    proxy = FaultProxy(split_addr(HOST or ""), faults)
    try:
        result = result_of(backup,
            ClusterConfig(hosts="127.0.0.1", port=proxy.port, socket_timeout_ms=1000),
            BackupOptions(namespace=NS, directory=str(tmp_path / "bk"), parallel=2),
        )
        assert result.ok, result.errors
        assert proxy.faulted >= 1, "the proxy never got to inject its fault"
    finally:
        proxy.close()
    recs = records_of(asb_files(tmp_path / "bk"))
    assert set(recs) == digests_on_server(client)


RESUME_SET = "asbkit_resume"
RESUME_N = 100_000


@pytest.fixture(scope="module")
def resume_data(client: Any) -> set[bytes]:
    from ..helpers.cluster_data import load_bulk

    client.truncate("test", RESUME_SET, 0)
    time.sleep(0.5)
    load_bulk(client, "test", RESUME_N, set_name=RESUME_SET, payload=300)
    seen: set[bytes] = set()
    q = client.query("test", RESUME_SET)
    q.foreach(lambda rec: seen.add(bytes(rec[0][3])))
    assert len(seen) == RESUME_N
    return seen


def _cli(*args: str) -> list[str]:
    h, p = split_addr(HOST or "")
    return [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", "test", "-s", RESUME_SET, "--no-progress", *args]


def _interrupt(cmd: list[str], state: Path, sig: int, at_fraction: float) -> subprocess.CompletedProcess[bytes]:
    """Starts the backup, waits until its state shows `at_fraction` of the records, sends `sig`."""
    import json

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            saved = json.loads(state.read_text())
            if sum(f["records"] for f in saved["files"]) >= at_fraction * RESUME_N:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "the backup ended before it could be interrupted: " + proc.stderr.read().decode()[-2000:]
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.parametrize(
    "layers",
    [[], ["-z", "zstd", "-y", "aes256", "--encryption-key-env", "ASBKIT_TEST_KEY"]],
    ids=["plain", "zstd+aes256"],
)
def test_killed_and_interrupted_backups_continue_to_every_record_once(resume_data: set[bytes], tmp_path: Path, layers: list[str]) -> None:
    os.environ["ASBKIT_TEST_KEY"] = base64.b64encode(b"k" * 32).decode()
    d = tmp_path / "bk"
    state = d / "test.asb.state"
    # Slow enough to be caught in the middle (the server paces the scans); small files.
    slow = ["-d", str(d), "-w", "2", "-L", "10000", "-F", "2", *layers]
    first = _interrupt(_cli(*slow), state, signal.SIGKILL, 0.2)
    assert first.returncode == -signal.SIGKILL
    assert state.exists()
    second = _interrupt(_cli(*slow, "-c", str(state)), state, signal.SIGINT, 0.5)
    assert second.returncode not in (0, -signal.SIGINT), second.stderr.decode()
    assert b"-c " in second.stderr and b"interrupted" in second.stderr, second.stderr.decode()[-2000:]
    third = _interrupt(_cli(*slow, "-c", str(state)), state, signal.SIGTERM, 0.7)
    assert third.returncode != 0
    last = subprocess.run(_cli("-d", str(d), "-w", "2", "-F", "2", *layers, "-c", str(state)), capture_output=True)
    assert last.returncode == 0, last.stderr.decode()[-3000:]
    assert not state.exists(), "a finished backup leaves no state"
    from asbkit import Layers

    lay = Layers(compress="zstd", encrypt="aes256", key_env="ASBKIT_TEST_KEY") if layers else None
    recs = records_of(asb_files(d), lay)  # fails on any digest seen twice
    assert set(recs) == resume_data
    assert f"Backed up {RESUME_N} record(s)".encode() in last.stderr
    # Every file reads to its end and the manifest accounts for it.
    import hashlib
    import json

    manifest = json.loads((d / "test.manifest.json").read_text())
    assert manifest["totals"]["records"] == RESUME_N
    assert sorted(f["name"] for f in manifest["files"]) == [p.name for p in asb_files(d)]
    for f in manifest["files"]:
        assert hashlib.sha256((d / f["name"]).read_bytes()).hexdigest() == f["sha256"]


def test_estimate_bounds_the_backup_and_writes_nothing(loaded: list[Any], tmp_path: Path) -> None:
    _, recs = run(tmp_path / "real")
    real = sum(f.stat().st_size for f in asb_files(tmp_path / "real" / "bk"))
    os.chdir(tmp_path)
    result = result_of(backup, config(), BackupOptions(namespace=NS, estimate=True, estimate_samples=500))
    assert result.ok, result.errors
    e = result.data.estimate
    assert e is not None and e.samples == 500 and e.records == N
    sizes = sorted(len(t.encode()) for t in recs.values())
    assert sizes[len(sizes) // 2] <= e.record_bytes <= sizes[-1]
    assert real * 0.9 <= e.total_bytes <= real * 1.2
    assert list(tmp_path.iterdir()) == [tmp_path / "real"], "an estimate writes no file"
    for clash in ({"directory": "x"}, {"output_file": "y"}, {"parallel": 2}, {"no_records": True}):
        r = result_of(backup, config(), BackupOptions(namespace=NS, estimate=True, **clash))
        assert not r.ok and "--estimate" in str(r.errors[0])
    if ASBACKUP:
        h, p = split_addr(HOST or "")
        c = subprocess.run([ASBACKUP, "-h", h, "-p", str(p), "-n", NS, "-e", "--estimate-samples", "500"], capture_output=True, text=True)
        line = next(l for l in c.stderr.splitlines() + c.stdout.splitlines() if "Estimated overall record size" in l)
        c_size = int(line.split(" is ")[1].split()[0])
        assert abs(c_size - e.record_bytes) <= max(8, c_size // 20), (c_size, e.record_bytes)


@pytest.fixture
def stunnel(tmp_path: Path) -> Any:
    """A real TLS terminator (Debian's stunnel4) in front of the server."""
    from ..helpers.stunnel import terminator

    with terminator(tmp_path, split_addr(HOST or "")) as t:
        yield t


def test_record_streams_over_a_real_tls_terminator(loaded: list[Any], tmp_path: Path, stunnel: dict[str, Any]) -> None:
    """The official client cannot reach a Community node through TLS (it asks for TLS peers,
    an Enterprise feature: "ERROR:25:enterprise only"), so the cluster view stays out of it:
    this drives the wire layer's info and a whole-namespace scan into a backup output
    through the terminator, and compares with a plain backup."""
    from datetime import timedelta

    from asbkit import Layers, _codec
    from asbkit.backing_up.jobs import ScanOrder
    from asbkit.backing_up.run import OutputSettings
    from asbkit.cluster.client import WireAccess

    _, plain = run(tmp_path / "plain")
    tls = _codec.TlsConfig(cafile=str(stunnel["ca"]))
    access = WireAccess(tls=tls, tls_name="node1.test")
    assert _codec.info(stunnel["addr"], ["build"], access) == ["8.1.2.0"]
    (tmp_path / "tls").mkdir()
    settings = OutputSettings(namespace=NS, first_file=True, bytes_per_second=0, layers=Layers().codec_args(), resume=None)
    out = _codec.BackupOutput.directory(str(tmp_path / "tls"), NS, 0, settings)
    ckpt = _codec.BackupCheckpoint()
    job = out.job(True)
    order = ScanOrder(
        addr=stunnel["addr"], partitions=list(range(4096)), namespace=NS, set=None, bins=[], no_bins=False, max_records=0,
        records_per_second=0, total_timeout_ms=0, filter_exp=None, compact=False, commit_every=timedelta(seconds=1), commit_bytes=32 << 20,
    )
    res = _codec.scan_partitions(out, job, ckpt, order, access)
    assert res.error is None, res.error
    job.release(out, ckpt)
    out.finish()
    assert records_of(asb_files(tmp_path / "tls")) == plain
    # A wrong CA or name is refused in words, and the backup says so.
    from ..helpers.tls_certs import make_pki

    (tmp_path / "other").mkdir()
    other = make_pki(tmp_path / "other")
    for ca, name, words in ((other["ca"], "node1.test", "not signed by a CA given"), (stunnel["ca"], "wrong.test", "not for the name")):
        with pytest.raises(AsbClusterError, match=words):
            _codec.info(stunnel["addr"], ["build"], WireAccess(tls=_codec.TlsConfig(cafile=str(ca)), tls_name=name))


def test_prefer_racks_on_a_cluster_without_racks_reads_masters_and_says_so(loaded: list[Any], client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    h, p = split_addr(HOST or "")
    with caplog.at_level(logging.WARNING, logger="asbkit.cluster"):
        result = result_of(backup, ClusterConfig(hosts=h, port=p, prefer_racks=[1]), BackupOptions(namespace=NS, directory=str(tmp_path / "bk")))
    assert result.ok, result.errors
    assert set(records_of(asb_files(tmp_path / "bk"))) == digests_on_server(client)
    assert any("--prefer-racks" in r.message for r in caplog.records)


def test_throttles_hold_the_backup_to_their_rates(resume_data: set[bytes], tmp_path: Path) -> None:
    """Lower bounds only: a throttled backup cannot be faster than its throttle allows."""
    h, p = split_addr(HOST or "")
    cfg = ClusterConfig(hosts=h, port=p)
    start = time.monotonic()
    r = result_of(backup, cfg, BackupOptions(namespace="test", sets=[RESUME_SET], directory=str(tmp_path / "n"), nice=20))
    took = time.monotonic() - start
    assert r.ok, r.errors
    assert took >= r.data.bytes / (20 << 20) * 0.9, (took, r.data.bytes)
    start = time.monotonic()
    r = result_of(backup, cfg, BackupOptions(namespace="test", sets=[RESUME_SET], directory=str(tmp_path / "l"), records_per_second=40_000, parallel=2))
    took = time.monotonic() - start
    assert r.ok and r.data.records == RESUME_N
    assert took >= RESUME_N / 40_000 * 0.8, took


def test_state_file_dst_and_total_timeout(resume_data: set[bytes], tmp_path: Path) -> None:
    state = tmp_path / "elsewhere.state"
    d = tmp_path / "bk"
    cut = _interrupt(_cli("-d", str(d), "-L", "20000", "--state-file-dst", str(state)), state, signal.SIGINT, 0.2)
    assert cut.returncode != 0 and state.exists() and not (d / "test.asb.state").exists()
    done = subprocess.run(_cli("-d", str(d), "--state-file-dst", str(state), "-c", str(state)), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert set(records_of(asb_files(d))) == resume_data
    # A scan past --total-timeout fails (and is not retried), with its state saved.
    h, p = split_addr(HOST or "")
    r = result_of(backup,
        ClusterConfig(hosts=h, port=p, total_timeout_ms=300),
        BackupOptions(namespace="test", sets=[RESUME_SET], directory=str(tmp_path / "t"), records_per_second=20_000),
    )
    assert not r.ok and "--total-timeout" in str(r.errors[0]) and r.data.state_file


def test_one_output_file_killed_and_continued(resume_data: set[bytes], tmp_path: Path) -> None:
    out = tmp_path / "one.asb"
    state = Path(str(out) + ".state")
    slow = ["-o", str(out), "-w", "2", "-L", "10000", "-z", "zstd"]
    first = _interrupt(_cli(*slow), state, signal.SIGKILL, 0.3)
    assert first.returncode == -signal.SIGKILL
    last = subprocess.run(_cli(*slow[:2], "-w", "2", "-z", "zstd", "-c", str(state)), capture_output=True)
    assert last.returncode == 0, last.stderr.decode()[-3000:]
    from asbkit import Layers

    assert set(records_of([out], Layers(compress="zstd"))) == resume_data
    assert not state.exists()


def test_partitions_that_cannot_be_read_fail_the_backup_by_name(loaded: list[Any], tmp_path: Path) -> None:
    """Every connection stalls for longer than the socket timeout: no round reads anything."""
    proxy = FaultProxy(split_addr(HOST or ""), Faults(stall_seconds=30, stall_after_bytes=1, times=-1, only_records=True))
    try:
        result = result_of(backup,
            ClusterConfig(hosts="127.0.0.1", port=proxy.port, socket_timeout_ms=300),
            BackupOptions(namespace=NS, directory=str(tmp_path / "bk"), max_retries=2, partition_list="0-10"),
        )
    finally:
        proxy.close()
    assert not result.ok
    message = str(result.errors[0])
    assert "partitions 0-9" in message and "after 2 retries" in message and "socket timeout" in message, message
    assert result.data.state_file and Path(result.data.state_file).exists()


def test_credentials_log_in_on_every_connection_and_the_password_is_asked_for(loaded: list[Any], client: Any, tmp_path: Path) -> None:
    """Community Edition answers every login with 51 (security not supported): the official
    client and the record streams both take that as "no login needed"; the login messages
    go out for real on each connection."""
    h, p = split_addr(HOST or "")
    r = result_of(backup, ClusterConfig(hosts=h, port=p, user="admin", password="admin"), BackupOptions(namespace=NS, directory=str(tmp_path / "a")))
    assert r.ok, r.errors
    assert set(records_of(asb_files(tmp_path / "a"))) == digests_on_server(client)
    # -P alone asks on the terminal, as the C tools do.
    import pty

    cmd = [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", NS, "-s", "s1", "-d", str(tmp_path / "b"), "--no-progress", "-U", "admin", "-P"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cmd[0], cmd)
    seen = b""
    deadline = time.monotonic() + 30
    while b"Password for admin:" not in seen and time.monotonic() < deadline:
        seen += os.read(fd, 1024)
    assert b"Password for admin:" in seen
    os.write(fd, b"admin\n")
    try:
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    assert b"admin\n" not in seen.split(b"Password for admin:", 1)[1][:8], "the password was echoed"
    assert set(records_of(asb_files(tmp_path / "b"))) == digests_on_server(client, ["s1"])


def test_a_failed_write_stops_the_backup_and_saves_no_state(loaded: list[Any], tmp_path: Path) -> None:
    """A reader that goes away after 50 kB: the write fails (EPIPE) and the backup says so;
    nothing is saved to continue from, and nothing is written beside a pipe or device."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def read_a_little() -> None:
        with open(fifo, "rb") as f:
            f.read(50_000)

    reader = threading.Thread(target=read_a_little)
    reader.start()
    r = result_of(backup, config(), BackupOptions(namespace=NS, output_file=str(fifo)))
    reader.join(timeout=30)
    assert not r.ok
    assert r.exit_code != 0 and r.errors[0].code == "output_error", r.errors
    assert "Broken pipe" in str(r.errors[0]) or "writing the backup failed" in str(r.errors[0]), r.errors
    assert r.data.state_file is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]
    full = result_of(backup, config(), BackupOptions(namespace=NS, output_file="/dev/full"))
    assert not full.ok and "No space left" in str(full.errors[0])
    assert not os.path.exists("/dev/full.manifest.json") and not os.path.exists("/dev/full.state")


def test_json_envelope_and_exit_codes_from_the_command_line(loaded: list[Any], tmp_path: Path) -> None:
    import json

    h, p = split_addr(HOST or "")
    base = [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", NS, "--no-progress", "--output", "json"]
    ok = subprocess.run([*base, "-d", str(tmp_path / "bk")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert (doc["schema"], doc["command"], doc["status"], doc["exit_code"]) == ("asbkit.result", "backup", "ok", 0)
    assert doc["data"]["records"] == N and doc["data"]["server_version"] == "8.1.2.0"
    assert sum(f["records"] for f in doc["data"]["files"]) == N
    assert "Backed up 1200 record(s)" in ok.stderr
    bad = subprocess.run([*base, "-d", str(tmp_path / "bk")], capture_output=True, text=True)
    doc = json.loads(bad.stdout)
    assert bad.returncode != 0 and doc["status"] == "error" and "--remove-files" in doc["errors"][0]["message"]
    usage = subprocess.run([*base, "-d", "x", "-o", "y"], capture_output=True, text=True)
    assert usage.returncode == 2 and "exactly one" in usage.stdout


def test_continuing_refuses_files_changed_since(resume_data: set[bytes], tmp_path: Path) -> None:
    d = tmp_path / "bk"
    state = d / "test.asb.state"
    cut = _interrupt(_cli("-d", str(d), "-L", "20000", "-F", "1"), state, signal.SIGINT, 0.5)
    assert cut.returncode != 0
    import json

    saved = json.loads(state.read_text())
    complete = [f["name"] for f in saved["files"] if f["sha256"]]
    assert complete, "with -F 1 some files are complete by half-way"
    with open(complete[0], "ab") as f:
        f.write(b"tampered")
    again = subprocess.run(_cli("-d", str(d), "-F", "1", "-c", str(state)), capture_output=True, text=True)
    assert again.returncode != 0 and Path(complete[0]).name in again.stderr and "changed since" in again.stderr, again.stderr[-1500:]
