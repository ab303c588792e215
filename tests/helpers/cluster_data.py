"""Test data written into a real server with the official client, and ways to read a
backup back as {digest: record text} for comparisons."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

HOST = os.environ.get("ASBKIT_TEST_HOST")
CLUSTER = os.environ.get("ASBKIT_TEST_CLUSTER")
ASBACKUP = os.environ.get("ASBKIT_C_ASBACKUP")
#: The directory of cluster3.sh's nodes (n1..n3, their pid files and configs), to kill one.
CLUSTER_DIR = os.environ.get("ASBKIT_TEST_CLUSTER_DIR")

#: The start of a C tools' log line (`2026-12-03 18:25:45 GMT [INF] [ 4242] `), as a regex.
C_LOG = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT \[INF\] \[[ \d]{4}\d\] "

needs_host = pytest.mark.skipif(not HOST, reason="set ASBKIT_TEST_HOST=host:port to a test Aerospike server (namespace bar is truncated)")
needs_cluster = pytest.mark.skipif(not CLUSTER, reason="set ASBKIT_TEST_CLUSTER=host:port to a seed of the three-node test cluster")


def split_addr(addr: str) -> tuple[str, int]:
    host, port = addr.rsplit(":", 1)
    return host, int(port)


def client_for(addr: str, lua_dir: Path) -> Any:
    aerospike = pytest.importorskip("aerospike")
    # The client keeps a copy of registered UDFs in its user path (else the working directory).
    lua = {"user_path": str(lua_dir)}
    return aerospike.client({"hosts": [split_addr(addr)], "policies": {"timeout": 10000}, "lua": lua}).connect()


def truncate(client: Any, namespace: str) -> None:
    import time

    client.truncate(namespace, None, 0)
    # Truncation is asynchronous on the server: wait until a scan sees nothing.
    for _ in range(100):
        if not _any_record(client, namespace):
            return
        time.sleep(0.1)
    raise AssertionError(f"namespace {namespace} did not empty after truncate")


def _any_record(client: Any, namespace: str) -> bool:
    seen = []
    q = client.query(namespace, None)
    q.max_records = 1

    def cb(rec: Any) -> bool:
        seen.append(rec)
        return False

    try:
        q.foreach(cb, {"max_records": 1})
    except Exception:
        pass
    return bool(seen)


def load_mixed(client: Any, namespace: str, n: int, *, sets: tuple[str, ...] = ("s1", "s2")) -> list[Any]:
    """`n` records of every particle type, keys of every kind, some without a set or a
    stored key; returns their keys."""
    import aerospike
    from aerospike_helpers.operations import hll_operations, list_operations

    keys = []
    send = {"key": aerospike.POLICY_KEY_SEND}
    for i in range(n):
        set_name = None if i % 17 == 0 else sets[i % len(sets)]
        user_key: Any = [f"user-{i}", i * 3 - 7, bytearray(f"b{i}", "ascii")][i % 3]
        key = (namespace, set_name, user_key)
        bins: dict[str, Any] = {
            "int": i * 7 - 100,
            "float": i / 7,
            "str": f"name {i}\nwith line" if i % 5 == 0 else f"name {i}",
            "bytes": bytearray([i % 256, 0, 255]),
            "list": [i, "two", [3.5, bytearray(b"x")]],
            "map": {"a": i, "b": {"nested": True}},
            "bool": i % 2 == 0,
            "geo": aerospike.GeoJSON({"type": "Point", "coordinates": [i % 90, 1.5]}),
        }
        if i % 4 == 0:
            bins["sp ace"] = "escaped name"
        if i % 6 == 0:
            bins["kmap"] = aerospike.KeyOrderedDict({"z": 1, "a": 2})
        meta = {"ttl": aerospike.TTL_NEVER_EXPIRE if i % 3 == 0 else 86400 * (i % 50 + 1)}
        client.put(key, bins, meta=meta, policy=send if i % 11 else {"key": aerospike.POLICY_KEY_DIGEST})
        if i % 5 == 1:
            client.operate(key, [list_operations.list_set_order("list", aerospike.LIST_ORDERED)])
        if i % 9 == 0:
            client.operate(key, [hll_operations.hll_add("hll", [f"e{j}" for j in range(i % 20 + 1)], 8)])
        keys.append(key)
    return keys


def load_bulk(client: Any, namespace: str, n: int, set_name: str = "bulk", payload: int = 200) -> None:
    """`n` plain records quickly (batch writes)."""
    import aerospike
    from aerospike_helpers.batch import records as br
    from aerospike_helpers.operations import operations as ops

    send = {"key": aerospike.POLICY_KEY_SEND}
    filler = "x" * payload
    for start in range(0, n, 500):
        batch = br.BatchRecords(
            [
                br.Write((namespace, set_name, i), [ops.write("i", i), ops.write("p", filler), ops.write("l", [i, "a"])], policy=send)
                for i in range(start, min(n, start + 500))
            ]
        )
        client.batch_write(batch)


def fresh_set(client: Any, namespace: str, set_name: str, n: int, payload: int = 200) -> set[bytes]:
    """The set emptied, then `n` plain records written into it (load_bulk): their digests."""
    client.truncate(namespace, set_name, 0)
    time.sleep(0.5)
    load_bulk(client, namespace, n, set_name=set_name, payload=payload)
    seen: set[bytes] = set()
    client.query(namespace, set_name).foreach(lambda rec: seen.add(bytes(rec[0][3])))
    assert len(seen) == n, f"{len(seen)} of {n} records in {namespace}/{set_name}"
    return seen


def records_of(paths: Iterable[str | Path], layers: Any = None) -> dict[bytes, str]:
    """digest → the record's text, from backup files."""
    import io

    from asbkit import BackupReader, BackupWriter, Record

    out: dict[bytes, str] = {}
    for entity in BackupReader([str(p) for p in paths], layers):
        if isinstance(entity, Record):
            buf = io.BytesIO()
            w = BackupWriter(buf, entity.namespace, first_file=False)
            w.write(entity)
            w.close()
            text = buf.getvalue().decode("utf-8", "surrogateescape")
            body = text.split("\n", 2)[2]  # without the header
            assert entity.digest not in out, f"digest {base64.b64encode(entity.digest).decode()} twice"
            out[entity.digest] = body
    return out


def asb_files(directory: str | Path) -> list[Path]:
    return sorted(Path(directory).glob("*.asb"))


def kill_midway(victim: Path, job: Callable[[Callable[[int], None]], Any], at: int) -> tuple[Any, int]:
    """Runs `job(report)` on a thread and SIGKILLs the node of `victim` (a cluster3.sh node
    directory) once the job has reported `at` (or after 60 s); the job's result, and how far
    it had got at the kill."""
    box: dict[str, Any] = {"seen": 0}

    def report(n: int) -> None:
        box["seen"] = n

    t = threading.Thread(target=lambda: box.__setitem__("result", job(report)))
    t.start()
    deadline = time.monotonic() + 60
    while box["seen"] < at and time.monotonic() < deadline and t.is_alive():
        time.sleep(0.05)
    at_kill = box["seen"]
    os.kill(int((victim / "asd.pid").read_text()), signal.SIGKILL)
    t.join(timeout=300)
    return box.get("result"), at_kill


def restart(victim: Path, client: Any) -> None:
    """Starts a killed node again and waits for the cluster of three, migrations done."""
    subprocess.run([_asd(), "--config-file", str(victim / "aerospike.conf")], check=False)
    _wait_for_three(client)


def _asd() -> str:
    return os.environ.get("ASBKIT_TEST_ASD", "asd")


def _wait_for_three(client: Any) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if len(client.get_nodes()) == 3:
                stats = client.info_all("statistics")
                if all("migrate_partitions_remaining=0" in (v[1] or "") for v in stats.values()):
                    return
        except Exception:
            pass
        time.sleep(1)


#: The prefix of the secondary indexes and UDFs the tests make: what they count.
OURS = "asbkit_"


def index_lines(path: str | Path) -> list[str]:
    """The `* i` lines of a backup file's head."""
    head = Path(path).read_text(errors="replace").split("\n+ ", 1)[0]
    return [line for line in head.split("\n") if line.startswith("* i ")]


def keep_own_metadata(directory: Path) -> None:
    """Rewrites the backup files of `directory` without the indexes and UDFs that are not
    the tests' own (a user's cluster holds others), so what a restore of them counts is
    the tests' alone."""
    from asbkit import BackupReader, BackupWriter, Record

    for path in asb_files(directory):
        reader = BackupReader(str(path))
        kept = path.with_suffix(".kept")
        with BackupWriter(str(kept), "", header=_header_of(path)) as w:
            for entity in reader:
                if isinstance(entity, Record) or entity.name.startswith(OURS):
                    w.write(entity)
        kept.replace(path)


def _header_of(path: Path) -> Any:
    from asbkit import BackupReader

    return next(BackupReader(str(path)).files()).header
