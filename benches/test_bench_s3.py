"""Backups in object storage, each figure with its baselines from the same run and the same
S3 server on loopback (s3s-fs when installed, else moto's server mode):

- backup of the namespace to `s3://` against the same backup to a local directory, and
  against the store's own intake: a raw multipart upload of the same bytes (boto3's
  transfer manager, same part size and concurrency);
- restore from `s3://` against restore from the local directory, and against a raw ranged
  download of the same objects (same range size and concurrency);
- the peak memory (max RSS) of each asbkit run, with its part size and concurrency.

Run: `ASBKIT_BENCH_HOST=127.0.0.1:3000 python -m pytest benches/test_bench_s3.py
--benchmark-enable`. The namespace `test` of that server is truncated and loaded with the
fixed-mix corpus (ASBKIT_BENCH_S3_MB of text, 300 by default), restored by asbkit itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import bench_addr, holding_only, synthetic_corpus

HOST = os.environ.get("ASBKIT_BENCH_HOST")
MB = int(os.environ.get("ASBKIT_BENCH_S3_MB", "300"))
NS = "test"
PART = 5 << 20
UPLOADS, DOWNLOADS = 16, 32
CREDS = {"AWS_ACCESS_KEY_ID": "asbkitbench", "AWS_SECRET_ACCESS_KEY": "asbkitbenchsecret", "AWS_DEFAULT_REGION": "us-east-1"}

pytestmark = pytest.mark.skipif(not HOST, reason="set ASBKIT_BENCH_HOST=host:port (its namespace test is truncated and reloaded)")


@pytest.fixture(scope="module")
def loaded() -> int:
    corpus, records, _ = synthetic_corpus(MB)
    h, p = bench_addr()
    load = [sys.executable, "-m", "asbkit", "restore", "-h", h, "-p", str(p), "-n", f"bench,{NS}", "-i", str(corpus), "--no-generation", "--extra-ttl", "70000000", "--no-progress"]
    holding_only(f"{h}:{p}", NS, records, load)
    return records


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def store() -> Iterator[tuple[str, Any]]:
    """(endpoint, boto3 client) of an S3 server on loopback, its data on a scratch disk."""
    import boto3

    os.environ.update(CREDS)
    port = _free_port()
    root = Path(tempfile.mkdtemp(prefix="asbkit-bench-s3-"))
    if shutil.which("s3s-fs"):
        cmd = ["s3s-fs", "--host", "127.0.0.1", "--port", str(port), "--access-key", CREDS["AWS_ACCESS_KEY_ID"], "--secret-key", CREDS["AWS_SECRET_ACCESS_KEY"], str(root)]
    else:
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="bench")
    try:
        yield endpoint, client
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _max_rss_mib(cmd: list[str]) -> float:
    """Runs `cmd` in a fresh process and gives its peak memory (the child's max RSS)."""
    probe = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True).stdout
    return int(out.split()[-1]) / 1024


def _empty(client: Any, prefix: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix=prefix):
        for o in page.get("Contents", []):
            client.delete_object(Bucket="bench", Key=o["Key"])


def _backup(endpoint: str, where: str) -> list[str]:
    h, p = bench_addr()
    return [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", NS, "-d", where, "-r", "-w", "4", "-F", "100", "--no-progress", "--s3-endpoint-override", endpoint]


def _timed(benchmark: Any, records: int, fn: Any, info: dict[str, Any] | None = None) -> None:
    benchmark.pedantic(fn, rounds=3, warmup_rounds=0)
    best = benchmark.stats.stats.min
    benchmark.extra_info.update({"records": records, "krec_per_s_best": round(records / best / 1000, 1), **(info or {})})


def test_backup_to_local_directory(benchmark: Any, loaded: int, store: tuple[str, Any], tmp_path: Path) -> None:
    cmd = _backup(store[0], str(tmp_path / "local"))
    _timed(benchmark, loaded, lambda: subprocess.run(cmd, check=True, capture_output=True), {"max_rss_mib": _max_rss_mib(cmd)})


def test_backup_to_s3(benchmark: Any, loaded: int, store: tuple[str, Any]) -> None:
    cmd = _backup(store[0], "s3://bench/backup")
    info = {"max_rss_mib": _max_rss_mib(cmd), "part_mib": PART >> 20, "uploads": UPLOADS}
    _timed(benchmark, loaded, lambda: subprocess.run(cmd, check=True, capture_output=True), info)


def test_raw_multipart_upload_of_the_same_bytes(benchmark: Any, loaded: int, store: tuple[str, Any], tmp_path: Path) -> None:
    """The store's intake: the backup's own files, uploaded by boto3's transfer manager."""
    from boto3.s3.transfer import TransferConfig

    local = tmp_path / "files"
    subprocess.run(_backup(store[0], str(local)), check=True, capture_output=True)
    files = sorted(local.glob("*.asb"))
    client = store[1]
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=UPLOADS)

    def upload() -> None:
        for f in files:
            client.upload_file(str(f), "bench", f"raw/{f.name}", Config=config)

    _timed(benchmark, loaded, upload, {"bytes": sum(f.stat().st_size for f in files)})


def _restore(endpoint: str, where: str) -> list[str]:
    h, p = bench_addr()
    return [sys.executable, "-m", "asbkit", "restore", "-h", h, "-p", str(p), "-d", where, "--no-generation", "--no-progress", "--s3-endpoint-override", endpoint]


def test_restore_from_local_directory(benchmark: Any, loaded: int, store: tuple[str, Any], tmp_path: Path) -> None:
    local = tmp_path / "files"
    subprocess.run(_backup(store[0], str(local)), check=True, capture_output=True)
    cmd = _restore(store[0], str(local))
    _timed(benchmark, loaded, lambda: subprocess.run(cmd, check=True, capture_output=True), {"max_rss_mib": _max_rss_mib(cmd)})


def test_restore_from_s3(benchmark: Any, loaded: int, store: tuple[str, Any]) -> None:
    subprocess.run(_backup(store[0], "s3://bench/restore"), check=True, capture_output=True)
    cmd = _restore(store[0], "s3://bench/restore")
    info = {"max_rss_mib": _max_rss_mib(cmd), "range_mib": PART >> 20, "downloads": DOWNLOADS}
    _timed(benchmark, loaded, lambda: subprocess.run(cmd, check=True, capture_output=True), info)


def test_raw_ranged_download_of_the_same_objects(benchmark: Any, loaded: int, store: tuple[str, Any], tmp_path: Path) -> None:
    from boto3.s3.transfer import TransferConfig

    client = store[1]
    subprocess.run(_backup(store[0], "s3://bench/raw-down"), check=True, capture_output=True)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="bench", Prefix="raw-down/")["Contents"] if o["Key"].endswith(".asb")]
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=DOWNLOADS)

    def download() -> None:
        for k in keys:
            client.download_file("bench", k, str(tmp_path / "d.asb"), Config=config)

    _timed(benchmark, loaded, download, {"objects": len(keys), "manifest": json.dumps(keys[:2])})
