"""`asbkit restore` against a real one-node server (ASBKIT_TEST_HOST; namespace `bar` is
truncated and reloaded): fidelity, asrestore's write policies, filters, layers, inputs,
record errors, faults on the connection, interruption."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from asbkit import AsbClusterError, BackupOptions, BackupWriter, Bin, ClusterConfig, Key, Layers, Record, RestoreOptions, backup, compute_digest, restore

from ..helpers.cluster_data import ASBACKUP, C_LOG, HOST, asb_files, keep_own_metadata, load_mixed, needs_host, records_of, split_addr, truncate
from ..helpers.faultproxy import FaultProxy, Faults
from ..helpers.results import result_of

pytestmark = [pytest.mark.cluster, needs_host, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "bar"
N = 1200
CITRUSLEAF_EPOCH = 1_262_304_000


def config(port: int | None = None, **kw: Any) -> ClusterConfig:
    h, p = split_addr(HOST or "")
    return ClusterConfig(hosts=h, port=port or p, **kw)


@pytest.fixture(scope="module")
def client(host_client: Any) -> Any:
    return host_client


@pytest.fixture(scope="module")
def source(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of `bar` holding every particle type, two indexes and a UDF."""
    truncate(client, NS)
    for name in ("asbkit_idx_int", "asbkit_idx_list"):
        client.info_all(f"sindex-delete:namespace={NS};indexname={name}")
    load_mixed(client, NS, N)
    client.info_all(f"sindex-create:namespace={NS};set=s1;indexname=asbkit_idx_int;bin=int;type=numeric")
    client.info_all(f"sindex-create:namespace={NS};set=s2;indexname=asbkit_idx_list;bin=list;type=string;indextype=list")
    lua = tmp_path_factory.mktemp("udf") / "asbkit_restore.lua"
    lua.write_text("function hi(rec)\n  return 2\nend\n")
    client.udf_put(str(lua))
    time.sleep(0.5)
    out = tmp_path_factory.mktemp("src") / "bk"
    r = result_of(backup, config(), BackupOptions(namespace=NS, directory=str(out)))
    assert r.ok, r.errors
    client.udf_remove("asbkit_restore.lua")
    # A user's cluster holds indexes and UDFs of its own: the restores count the tests'.
    keep_own_metadata(out)
    return out


def without_generation(recs: dict[bytes, str]) -> dict[bytes, str]:
    return {d: re.sub(r"^\+ g \d+\n", "", t, flags=re.M) for d, t in recs.items()}


def on_cluster(tmp: Path, namespace: str = NS, **kw: Any) -> dict[bytes, str]:
    """What the cluster holds now, as a backup of it reads."""
    out = tmp / f"now{time.monotonic_ns()}"
    r = result_of(backup, config(), BackupOptions(namespace=namespace, directory=str(out), no_indexes=True, no_udfs=True, **kw))
    assert r.ok, r.errors
    return records_of(asb_files(out))


def run_restore(src: Path | str, port: int | None = None, cfg: dict[str, Any] | None = None, **kw: Any) -> Any:
    opts = RestoreOptions(**({"input_file": str(src)} if Path(src).is_file() or str(src) == "-" else {"directory": str(src)}), **kw)
    return result_of(restore, config(port, **(cfg or {})), opts)


def test_a_restore_puts_back_every_record_bin_key_and_type(client: Any, source: Path, tmp_path: Path) -> None:
    truncate(client, NS)
    r = run_restore(source)
    assert r.ok, r.errors
    d = r.data
    assert (d.records_read, d.inserted, d.updated, d.failed, d.not_written) == (N, N, 0, 0, 0)
    assert d.udfs == 1 and d.indexes == 2
    # Every record as backed up: bins, types, list/map bytes (order flags), keys, void times;
    # only the generation starts again at 1.
    assert without_generation(on_cluster(tmp_path)) == without_generation(records_of(asb_files(source)))
    names = client.info_all(f"sindex-list:ns={NS}")
    assert all("asbkit_idx_int" in v[1] and "asbkit_idx_list" in v[1] for v in names.values())
    assert any(u["name"] == "asbkit_restore.lua" for u in client.udf_list())


def test_asrestore_write_policies(client: Any, source: Path, tmp_path: Path) -> None:
    import aerospike

    truncate(client, NS)
    assert run_restore(source).ok
    backed_up = records_of(asb_files(source))
    newer = sum(1 for t in backed_up.values() if not re.search(r"^\+ g 1$", t, re.M))
    # Again: records the backup holds at a higher generation are updated, the rest are
    # fresher (or as fresh) on the cluster and left alone.
    r = run_restore(source)
    assert r.ok, r.errors
    assert (r.data.inserted, r.data.updated, r.data.fresher) == (0, newer, N - newer)
    # --unique: nothing touched.
    r = run_restore(source, unique=True)
    assert (r.data.existed, r.data.inserted + r.data.updated) == (N, 0)
    # A record changed on the cluster since: default leaves it, -g merges into it, -g -r
    # replaces it (its extra bin goes).
    key = (NS, "s2", "user-3")
    for _ in range(5):
        client.put(key, {"extra": 1})
    r = run_restore(source)
    assert r.data.fresher >= 1
    assert client.get(key)[2]["extra"] == 1 and client.get(key)[2]["int"] == 3 * 7 - 100
    client.put(key, {"int": 0})
    r = run_restore(source, no_generation=True)
    assert r.data.updated == N
    bins = client.get(key)[2]
    assert bins["extra"] == 1 and bins["int"] == 3 * 7 - 100, "-g merges bins"
    r = run_restore(source, no_generation=True, replace=True)
    assert r.data.updated == N
    assert "extra" not in client.get(key)[2], "-r drops the bins the backup lacks"
    # A record deleted on the cluster comes back as inserted.
    client.remove(key)
    r = run_restore(source, no_generation=True)
    assert (r.data.inserted, r.data.updated) == (1, N - 1)
    with pytest.raises(aerospike.exception.RecordNotFound):
        client.get((NS, "s1", "no-such-user"))


def test_unique_with_replace_is_refused(source: Path) -> None:
    r = run_restore(source, unique=True, replace=True)
    assert not r.ok and "--unique" in str(r.errors[0])


def test_filters_skip_and_count(client: Any, source: Path, tmp_path: Path) -> None:
    backed_up = records_of(asb_files(source))
    in_s1 = {d for d, t in backed_up.items() if "\n+ s s1\n" in t}
    truncate(client, NS)
    r = run_restore(source, sets=["s1"])
    assert r.ok, r.errors
    assert (r.data.inserted, r.data.skipped) == (len(in_s1), N - len(in_s1))
    assert set(on_cluster(tmp_path)) == in_s1
    assert r.data.indexes_skipped == 1, "the index on s2 is left out with its set"
    truncate(client, NS)
    r = run_restore(source, bin_list=["int", "str"])
    assert r.ok and r.data.inserted == N
    now = on_cluster(tmp_path)
    assert all(re.findall(r"^- \w (\S+) ", t, re.M) == ["int", "str"] for t in now.values())


def test_namespace_remap_and_wrong_namespace(client: Any, source: Path, tmp_path: Path) -> None:
    client.truncate("test", "s1", 0)
    client.truncate("test", "s2", 0)
    r = run_restore(source, namespace=f"{NS},test", no_indexes=True, sets=["s1", "s2"])
    assert r.ok, r.errors
    moved = on_cluster(tmp_path, "test", sets=["s1", "s2"])
    assert len(moved) == r.data.inserted > 0
    assert all("\n+ n test\n" in "\n" + t for t in moved.values())
    client.truncate("test", "s1", 0)
    client.truncate("test", "s2", 0)
    truncate(client, NS)
    r = run_restore(source, namespace="test")
    assert not r.ok and "namespace 'bar'" in str(r.errors[0]) and "-n" in str(r.errors[0])
    assert str(next(iter(asb_files(source)))) in str(r.errors[0])
    r = run_restore(source, namespace=f"{NS},nosuchns")
    assert not r.ok and "nosuchns" in str(r.errors[0])
    assert on_cluster(tmp_path) == {}, "nothing is written when the checks fail"


def _write(path: Path, records: list[Any], layers: Layers | None = None) -> Path:
    with BackupWriter(path, NS, layers=layers) as w:
        for rec in records:
            w.write(rec)
    return path


def _rec(i: int, void_time: int = 0, bins: list[Any] | None = None) -> Any:
    key = Key("S", f"made-{i}")
    return Record(NS, compute_digest("made", key), bins or [Bin("i", "I", i)], set="made", key=key, void_time=void_time)


def test_expired_records_are_skipped_and_extra_ttl_revives_them(client: Any, tmp_path: Path) -> None:
    now = int(time.time()) - CITRUSLEAF_EPOCH
    path = _write(tmp_path / "ttl.asb", [_rec(0, now - 100), _rec(1, now + 1000), _rec(2, 0)])
    truncate(client, NS)
    r = run_restore(path)
    assert r.ok and (r.data.expired, r.data.inserted) == (1, 2)
    _, meta, _ = client.get((NS, "made", "made-1"))
    assert 990 <= meta["ttl"] <= 1000, "the TTL is what is left of the void time"
    r = run_restore(path, extra_ttl=500, no_generation=True)
    assert (r.data.expired, r.data.inserted, r.data.updated) == (0, 1, 2)
    _, meta, _ = client.get((NS, "made", "made-0"))
    assert 390 <= meta["ttl"] <= 400


def test_layers_restore_and_a_mismatch_is_said_before_writing(client: Any, tmp_path: Path, test_key: Path) -> None:
    layers = Layers(compress="zstd", encrypt="aes256", key_file=str(test_key))
    path = _write(tmp_path / "layered.asb", [_rec(i) for i in range(50)], layers)
    truncate(client, NS)
    r = run_restore(path)
    assert not r.ok and "--encrypt" in str(r.errors[0]) and "layered.asb" in str(r.errors[0])
    assert on_cluster(tmp_path) == {}
    r = run_restore(path, layers=layers)
    assert r.ok and r.data.inserted == 50


def _cli(*args: str) -> list[str]:
    h, p = split_addr(HOST or "")
    return [sys.executable, "-m", "asbkit", "restore", "-h", h, "-p", str(p), "--no-progress", *args]


def test_stdin_and_asrestore_s_counter_line(client: Any, source: Path) -> None:
    truncate(client, NS)
    file = next(iter(asb_files(source)))
    with open(file, "rb") as f:
        p = subprocess.run(_cli("-i", "-"), stdin=f, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    m = re.search(C_LOG + r"Expired (\d+) : skipped (\d+) : err_ignored (\d+) : inserted (\d+): failed (\d+) \(existed (\d+) , fresher (\d+)\)$", p.stderr, re.M)
    assert m, p.stderr
    assert [int(x) for x in m.groups()] == [0, 0, 0, N, 0, 0, 0]
    p = subprocess.run(_cli("-d", str(source)), capture_output=True, text=True, timeout=120)
    m = re.search(r"inserted (\d+): failed (\d+) \(existed (\d+) , fresher (\d+)\)", p.stderr)
    assert m and int(m.group(1)) + int(m.group(4)) == N and int(m.group(2)) == int(m.group(4))


def test_one_by_one_writes_match_batch_writes(client: Any, source: Path, tmp_path: Path) -> None:
    truncate(client, NS)
    r = run_restore(source, disable_batch_writes=True, parallel=4)
    assert r.ok and r.data.inserted == N
    assert without_generation(on_cluster(tmp_path)) == without_generation(records_of(asb_files(source)))


def test_a_record_the_server_rejects_stops_the_restore_unless_ignored(client: Any, tmp_path: Path) -> None:
    # The digest of made-7 with another user key: the server answers "key mismatch".
    impostor = Record(NS, _rec(7).digest, [Bin("i", "I", -1)], set="made", key=Key("S", "someone-else"))
    truncate(client, NS)
    assert run_restore(_write(tmp_path / "good.asb", [_rec(i) for i in range(20)])).ok
    path = _write(tmp_path / "bad.asb", [_rec(i) for i in range(20, 40)] + [impostor])
    r = run_restore(path, no_generation=True)
    assert not r.ok
    msg = str(r.errors[0])
    assert base64.b64encode(impostor.digest).decode() in msg and "key mismatch" in msg and "--ignore-record-error" in msg
    # The typed error names the node, the record's partition, and that trying again will not help.
    err = r.errors[0]
    assert isinstance(err, AsbClusterError) and err.result_code == 19 and not err.retryable
    assert err.node == HOST and err.partition == int.from_bytes(impostor.digest[:2], "little") & 0xFFF
    assert err.to_dict()["partition"] == err.partition
    r = run_restore(path, no_generation=True, ignore_record_error=True)
    assert r.ok, r.errors
    assert (r.data.err_ignored, r.data.inserted + r.data.updated) == (1, 20)
    assert r.data.failures[0].digest == base64.b64encode(impostor.digest).decode()
    assert client.get((NS, "made", "made-7"))[2]["i"] == 7, "the stored record is untouched"


@pytest.mark.parametrize(
    "faults",
    [Faults(drop_after_bytes=200, times=3, only_records=True), Faults(stall_seconds=3, stall_after_bytes=1, times=2, only_records=True)],
    ids=["drop", "stall"],
)
def test_dropped_and_stalled_writes_are_retried(client: Any, source: Path, tmp_path: Path, faults: Faults) -> None:
    truncate(client, NS)
    proxy = FaultProxy(split_addr(HOST or ""), faults)
    try:
        r = run_restore(source, port=proxy.port, cfg={"socket_timeout_ms": 1000}, retry_scale_factor_us=20_000)
        assert r.ok, r.errors
        assert proxy.faulted >= 1 and r.data.retries >= 1
    finally:
        proxy.close()
    assert r.data.inserted + r.data.updated + r.data.fresher == N
    assert set(on_cluster(tmp_path)) == set(records_of(asb_files(source)))


def test_writes_that_never_get_through_are_failed_with_their_digests(client: Any, source: Path) -> None:
    truncate(client, NS)
    proxy = FaultProxy(split_addr(HOST or ""), Faults(drop_after_bytes=1, times=-1, only_records=True))
    try:
        r = run_restore(source, port=proxy.port, max_retries=2, retry_scale_factor_us=10_000)
    finally:
        proxy.close()
    assert not r.ok and r.exit_code != 0
    assert r.data.failed == N and r.data.not_written == 0, "every record is accounted for"
    assert "could not be written" in str(r.errors[0]) and "--max-retries" in str(r.errors[0])
    assert len(r.data.failures) == N and all(len(base64.b64decode(f.digest)) == 20 for f in r.data.failures)


def test_an_existing_index_that_differs_is_replaced(client: Any, source: Path) -> None:
    truncate(client, NS)
    client.info_all(f"sindex-delete:namespace={NS};indexname=asbkit_idx_int")
    time.sleep(0.5)
    client.info_all(f"sindex-create:namespace={NS};set=s1;indexname=asbkit_idx_int;bin=str;type=string")
    time.sleep(0.5)
    r = run_restore(source, indexes_last=True, wait=True)
    assert r.ok, r.errors
    assert (r.data.indexes_replaced, r.data.indexes_matched) == (1, 1)
    listed = next(iter(client.info_all(f"sindex-list:ns={NS}").values()))[1]
    entry = next(e for e in listed.split(";") if "indexname=asbkit_idx_int" in e)
    assert "bin=int" in entry and "type=numeric" in entry


def test_interrupted_restore_accounts_for_every_record(client: Any, tmp_path: Path) -> None:
    path = _write(tmp_path / "many.asb", [_rec(i, bins=[Bin("i", "I", i), Bin("p", "S", "x" * 200)]) for i in range(60_000)])
    truncate(client, NS)
    proc = subprocess.Popen(_cli("-i", str(path), "-N", "0,8000", "--output", "json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    assert proc.poll() is None, "the restore ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    import json

    data = json.loads(out)["data"]
    assert "interrupted" in json.loads(out)["errors"][0]["message"]
    settled = sum(data[k] for k in ("expired", "skipped", "err_ignored", "inserted", "updated", "existed", "fresher", "failed"))
    assert 0 < data["inserted"] < 60_000
    assert settled + data["not_written"] == data["records_read"]


@pytest.mark.skipif(not ASBACKUP, reason="set ASBKIT_C_ASBACKUP to C asbackup to restore its backups")
def test_a_c_asbackup_backup_restores_to_the_same_records(client: Any, source: Path, tmp_path: Path) -> None:
    truncate(client, NS)
    assert run_restore(source).ok
    h, p = split_addr(HOST or "")
    c_dir = tmp_path / "c"
    subprocess.run([ASBACKUP or "", "-h", h, "-p", str(p), "-n", NS, "-d", str(c_dir)], check=True, capture_output=True, timeout=120)
    truncate(client, NS)
    r = run_restore(c_dir)
    assert r.ok and r.data.inserted == N
    strip = lambda recs: {d: re.sub(r"^\+ t \d+\n", "", t, flags=re.M) for d, t in without_generation(recs).items()}
    assert strip(on_cluster(tmp_path)) == strip(records_of(asb_files(c_dir)))


def test_verify_finds_missing_and_different_records(client: Any, source: Path) -> None:
    from asbkit import verify

    truncate(client, NS)
    assert run_restore(source).ok
    opts = RestoreOptions(directory=str(source))
    r = result_of(verify, config(), opts)
    assert r.ok and r.exit_code == 0, r.errors
    assert (r.data.records_read, r.data.same, r.data.missing, r.data.different) == (N, N, 0, 0)
    changed, gone = (NS, "s2", "user-3"), (NS, "s2", "user-9")
    client.put(changed, {"int": 1, "added": "x"})
    client.remove(gone)
    r = result_of(verify, config(), opts)
    assert not r.ok and r.exit_code == 1
    assert (r.data.same, r.data.missing, r.data.different) == (N - 2, 1, 1)
    by_digest = {d.digest: d.what for d in r.data.differences}
    digest = lambda key: base64.b64encode(compute_digest(key[1], Key("S", key[2]))).decode()
    assert by_digest[digest(gone)] == "missing on the cluster"
    assert by_digest[digest(changed)] == "bin 'int' differs, bin 'added' is not in the backup"
    # With -B only the listed bins are compared.
    r = result_of(verify, config(), RestoreOptions(directory=str(source), bin_list=["str"]))
    assert (r.data.same, r.data.missing, r.data.different) == (N - 1, 1, 0)


def test_verify_cli_json(client: Any, source: Path) -> None:
    import json

    truncate(client, NS)
    assert run_restore(source).ok
    h, p = split_addr(HOST or "")
    out = subprocess.run([sys.executable, "-m", "asbkit", "verify", "-h", h, "-p", str(p), str(source), "--output", "json", "--no-progress"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["command"], doc["status"], doc["data"]["same"], doc["data"]["missing"]) == ("verify", "ok", N, 0)


def test_round_trip_into_another_namespace_holds_the_same_records(client: Any, source: Path, tmp_path: Path) -> None:
    """Back up (every type), restore into another namespace, back that up: the same records
    (digests, keys, bins, values; lists and maps byte-equal), and verify says so."""
    from asbkit import verify

    truncate(client, "test")
    r = run_restore(source, namespace=f"{NS},test", no_indexes=True, no_udfs=True)
    assert r.ok and r.data.inserted == N, r.errors
    copy = on_cluster(tmp_path, "test")
    same = lambda recs: {d: re.sub(r"^\+ n \S+\n", "", t, flags=re.M) for d, t in without_generation(recs).items()}
    assert same(copy) == same(records_of(asb_files(source)))
    v = result_of(verify, config(), RestoreOptions(directory=str(source), namespace=f"{NS},test"))
    assert v.ok and (v.data.same, v.data.missing, v.data.different) == (N, 0, 0)
    truncate(client, "test")


def test_no_records_restores_only_the_metadata_and_nice_throttles(client: Any, source: Path) -> None:
    truncate(client, NS)
    r = run_restore(source, no_records=True)
    assert r.ok and (r.data.records_read, r.data.inserted, r.data.indexes, r.data.udfs) == (0, 0, 2, 1)
    r = run_restore(source, no_indexes=True, no_udfs=True, tps=3000)
    assert r.ok and (r.data.inserted, r.data.indexes, r.data.udfs) == (N, 0, 0)
    # 1200 records at 3000/s cannot take less than 0.4 s.
    assert r.data.duration_seconds >= 0.35


def test_batch_writes_off_on_the_server_is_said(client: Any, source: Path) -> None:
    h, p = split_addr(HOST or "")
    from asbkit import _codec
    from asbkit.cluster.client import WireAccess

    before = [x for x in _codec.info(f"{h}:{p}", ["get-config:context=service"], WireAccess())[0].split(";") if x.startswith("batch-index-threads=")][0]
    if _codec.info(f"{h}:{p}", ["set-config:context=service;batch-index-threads=0"], WireAccess())[0].strip() != "ok":
        pytest.skip("this server does not let batch-index-threads be set to 0")
    try:
        r = run_restore(source)
        assert not r.ok and "--disable-batch-writes" in str(r.errors[0])
        truncate(client, NS)
        r = run_restore(source, disable_batch_writes=True)
        assert r.ok and r.data.inserted == N
    finally:
        _codec.info(f"{h}:{p}", [f"set-config:context=service;{before}"], WireAccess())


def test_a_permanent_error_stops_the_restore_with_its_reason(client: Any, tmp_path: Path) -> None:
    # The header says bar (on the cluster); the records say a namespace the cluster lacks.
    stray = [Record("nosuchns", _rec(i).digest, [Bin("i", "I", i)], set="made") for i in range(300)]
    path = _write(tmp_path / "stray.asb", stray)
    r = run_restore(path)
    assert not r.ok and "result code 4" in str(r.errors[0]) and "namespace" in str(r.errors[0])
    assert r.data.failed == 0 and r.data.retries == 0, "not retried"
    r = run_restore(path, disable_batch_writes=True)
    assert not r.ok and "namespace not found (result code 20)" in str(r.errors[0])
    # The record that failed is named by its digest.
    named = re.search(r"record (\S+): ", str(r.errors[0]))
    assert named and named.group(1) in {base64.b64encode(s.digest).decode() for s in stray}, r.errors[0]
    assert r.data.failed == 0 and r.data.retries == 0


def test_an_absctl_backup_restores_with_its_expression_and_set_indexes(client: Any, tmp_path: Path) -> None:
    """absctl's 3.2 files: Go's shortest doubles, an expression index (`* e`) and a set
    index (`* i … S 1  E`)."""
    exp = base64.b64encode(bytes([0x93, 0x51, 0x02, 0xA3]) + b"age").decode()  # bin "age" as an integer
    lines = [b"Version 3.2", b"# namespace bar", b"# first-file", f"* e bar demo asbkit_expidx N 1 age N {exp}".encode(), b"* i bar demo asbkit_setidx S 1  E"]
    for i in range(10):
        key = Key("S", f"go-{i}")
        digest = base64.b64encode(compute_digest("demo", key)).decode()
        lines += [f"+ k S {len(key.value)} go-{i}".encode(), b"+ n bar", f"+ d {digest}".encode(), b"+ s demo", b"+ g 1", b"+ t 0", b"+ b 2",
                  f"- I age {30 + i}".encode(), b"- D d 0.1"]
    path = tmp_path / "absctl.asb"
    path.write_bytes(b"\n".join(lines) + b"\n")
    truncate(client, NS)
    client.info_all(f"sindex-delete:namespace={NS};indexname=asbkit_expidx")
    try:
        r = run_restore(path)
        assert r.ok, r.errors
        assert (r.data.inserted, r.data.indexes_created) == (10, 2)
        _, _, bins = client.get((NS, "demo", "go-3"))
        assert bins == {"age": 33, "d": 0.1}
        listed = next(iter(client.info_all(f"sindex-list:ns={NS};b64=true").values()))[1]
        assert f"indexname=asbkit_expidx:set=demo:bin=null:type=numeric:indextype=default:context=null:exp={exp}" in listed
        assert "enable-index=true" in next(iter(client.info_all(f"sets/{NS}/demo").values()))[1]
        r = run_restore(path)
        assert r.ok and (r.data.indexes_matched, r.data.indexes_created) == (2, 0), "the second time both are there"
    finally:
        client.info_all(f"sindex-delete:namespace={NS};indexname=asbkit_expidx")
        client.info_all(f"set-config:context=namespace;id={NS};set=demo;enable-index=false")


def test_directory_list_with_parent_directory(client: Any, source: Path, tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    (parent / "extra").mkdir(parents=True)
    _write(parent / "extra" / "made.asb", [_rec(i) for i in range(30)])
    (parent / "orig").symlink_to(source)
    truncate(client, NS)
    r = result_of(restore, config(), RestoreOptions(directory_list=["orig", "extra"], parent_directory=str(parent)))
    assert r.ok, r.errors
    assert (r.data.records_read, r.data.inserted) == (N + 30, N + 30)
    assert len(r.data.files) == 2


@pytest.fixture
def mutual_tls(tmp_path: Path) -> Any:
    """Debian's stunnel4 in front of the server, demanding a client certificate."""
    from ..helpers.stunnel import terminator

    with terminator(tmp_path, split_addr(HOST or ""), demand_client_cert=True) as t:
        yield t


def _over_tls(addr: str, files: list[str], tls: Any, verify: bool = False) -> Any:
    from asbkit import RestoreOptions, _codec
    from asbkit.cluster.client import WireAccess
    from asbkit.restoring.driver import restore_settings

    settings = restore_settings(RestoreOptions(max_retries=0), len(files), verify=verify, batch_writes=True, total_timeout_ms=10_000)
    run = _codec.RestoreRun(files, [None] * len(files), settings, WireAccess(tls=tls, tls_name="node1.test"))
    run.publish_routes([addr], [0] * 4096)
    run.start()
    while not run.wait(0.2):
        pass
    return run


def test_restore_and_verify_through_mutual_tls_with_an_encrypted_client_key(client: Any, source: Path, mutual_tls: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The official client cannot reach a Community node through TLS (it asks for TLS
    peers, an Enterprise feature), so this drives the Rust restore and verify, with the
    settings the CLI gives them, through a terminator that demands a client certificate."""
    from asbkit import _codec
    from asbkit.cluster.client import decrypted_key_file, resolve_password

    files = [str(f) for f in asb_files(source)]
    monkeypatch.setenv("ASBKIT_TEST_KEYPASS", "keypass")
    key = decrypted_key_file(str(mutual_tls["client_key_encrypted"]), resolve_password("env:ASBKIT_TEST_KEYPASS") or "")
    tls = _codec.TlsConfig(cafile=str(mutual_tls["ca"]), certfile=str(mutual_tls["client_cert"]), keyfile=key)
    truncate(client, NS)
    run = _over_tls(mutual_tls["addr"], files, tls)
    assert run.fatal() is None
    c = dict(run.counters())
    assert (c["inserted"], c["failed"]) == (N, 0)
    run = _over_tls(mutual_tls["addr"], files, tls, verify=True)
    assert run.fatal() is None and dict(run.counters())["same"] == N
    # The CA from a directory, TLS 1.2 only, or one TLS 1.3 suite (OpenSSL's or IANA's name):
    # the terminator (OpenSSL) takes each.
    client = {"certfile": str(mutual_tls["client_cert"]), "keyfile": key}
    for extra in ({"capath": str(mutual_tls["ca"].parent)}, {"cafile": str(mutual_tls["ca"]), "protocols": "TLSv1.2"},
                  {"cafile": str(mutual_tls["ca"]), "cipher_suites": "TLS_AES_256_GCM_SHA384"},
                  {"cafile": str(mutual_tls["ca"]), "protocols": "TLSv1.2", "cipher_suites": "ECDHE-ECDSA-AES128-GCM-SHA256"}):
        run = _over_tls(mutual_tls["addr"], files, _codec.TlsConfig(**client, **extra), verify=True)
        assert run.fatal() is None and dict(run.counters())["same"] == N, extra
    # Without the client certificate the terminator refuses: every record fails, said.
    bare = _codec.TlsConfig(cafile=str(mutual_tls["ca"]))
    run = _over_tls(mutual_tls["addr"], files[:1], bare)
    assert dict(run.counters())["failed"] == N
    said = run.failures()[0].message
    assert "CertificateRequired" in said and mutual_tls["addr"] in said
    from asbkit import AsbClusterError

    with pytest.raises(AsbClusterError, match="--tls-keyfile-password"):
        decrypted_key_file(str(mutual_tls["client_key_encrypted"]), "wrong")


def test_machine_lines_into_a_fifo_and_json_logs(client: Any, tmp_path: Path) -> None:
    import json
    import threading

    path = _write(tmp_path / "many.asb", [_rec(i, bins=[Bin("i", "I", i), Bin("p", "S", "x" * 100)]) for i in range(30_000)])
    fifo = tmp_path / "machine.fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(open(fifo, encoding="utf-8").read().splitlines()), daemon=True)
    reader.start()
    truncate(client, NS)
    p = subprocess.run(_cli("-i", str(path), "-N", "0,10000", "-m", str(fifo), "--log-json"), capture_output=True, text=True, timeout=120)
    reader.join(timeout=30)
    assert p.returncode == 0, p.stderr
    progress = [int(line.split(":")[1]) for line in got if line.startswith("PROGRESS:")]
    assert len(progress) >= 2 and progress == sorted(progress) and all(0 <= x <= 100 for x in progress)
    assert any(re.fullmatch(r"REMAINING:(\d+[dhm])*\d+s", line) for line in got)
    assert got[-1] == "SUMMARY:0:0:30000:0:0:0 :30000:0:0", "asrestore's fields, its space included"
    logs = [json.loads(line) for line in p.stderr.splitlines() if line.strip()]
    assert any(e["message"].startswith("Expired 0 : skipped 0 : err_ignored 0 : inserted 30000:") for e in logs)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in logs)
    # asbackup's, into a file appended to.
    machine = tmp_path / "backup.machine"
    machine.write_text("earlier line\n")
    h, port = split_addr(HOST or "")
    b = subprocess.run([sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(port), "-n", NS, "-d", str(tmp_path / "bk"), "--no-progress", "-L", "10000", "-m", str(machine)],
                       capture_output=True, text=True, timeout=120)
    assert b.returncode == 0, b.stderr
    lines = machine.read_text().splitlines()
    assert lines[0] == "earlier line" and any(x.startswith("PROGRESS:") for x in lines)
    m = re.fullmatch(r"SUMMARY:(\d+):(\d+):(\d+):(\d+):(\d+)", lines[-1])
    assert m and int(m.group(1)) == 30_000


def test_a_terminal_gets_a_live_display(client: Any, tmp_path: Path) -> None:
    """On a terminal (a pty here) the restore draws records, percent, rate and time left."""
    import pty

    path = _write(tmp_path / "live.asb", [_rec(i, bins=[Bin("i", "I", i)]) for i in range(20_000)])
    truncate(client, NS)
    h, p = split_addr(HOST or "")
    cmd = [sys.executable, "-m", "asbkit", "restore", "-h", h, "-p", str(p), "-i", str(path), "-N", "0,8000"]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["COLUMNS"] = "120"
        os.execv(cmd[0], cmd)
    seen = b""
    try:
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    text = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert re.search(r"\d[\d,]* records", text) and re.search(r"\d+\.\d%", text) and "rec/s" in text, text[-2000:]
    assert "Expired 0 : skipped 0 : err_ignored 0 : inserted 20000" in text


def test_stdin_with_asrestore_s_size_hint_shows_progress(client: Any, tmp_path: Path) -> None:
    path = _write(tmp_path / "sized.asb", [_rec(i) for i in range(20_000)])
    fifo = tmp_path / "m.fifo"
    os.mkfifo(fifo)
    import threading

    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(open(fifo, encoding="utf-8").read().splitlines()), daemon=True)
    reader.start()
    truncate(client, NS)
    with open(path, "rb") as f:
        p = subprocess.run(_cli("-i", f"-:{path.stat().st_size}", "-N", "0,8000", "-m", str(fifo)), stdin=f, capture_output=True, text=True, timeout=120)
    reader.join(timeout=30)
    assert p.returncode == 0, p.stderr
    assert any(line.startswith("PROGRESS:") for line in got), "a size for stdin gives percentages"
    assert got[-1].startswith("SUMMARY:0:0:20000:")
    p = subprocess.run(_cli("-i", "-:lots"), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "size in bytes" in p.stderr
