"""Backups written by C asbackup from a real server: read, rewritten byte for byte,
converted to JSON and back, deep-validated.

Needs a server (ASBKIT_TEST_HOST=host:port, namespace `test`), C asbackup
(ASBKIT_C_ASBACKUP=path) and the official `aerospike` client.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

import asbkit
from asbkit import Layers, convert, validate

from ..helpers.files import rewrite
from ..helpers.results import result_of

HOST = os.environ.get("ASBKIT_TEST_HOST")
ASBACKUP = os.environ.get("ASBKIT_C_ASBACKUP")
pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(not HOST, reason="set ASBKIT_TEST_HOST=host:port to a test Aerospike server"),
    pytest.mark.skipif(not ASBACKUP, reason="set ASBKIT_C_ASBACKUP to a C asbackup binary"),
]
SET = "asbkit_rt"


@pytest.fixture(scope="module")
def loaded() -> int:
    aerospike = pytest.importorskip("aerospike")
    assert HOST
    host, port = HOST.rsplit(":", 1)
    client = aerospike.client({"hosts": [(host, int(port))]}).connect()
    try:
        client.truncate("test", SET, 0)
    except Exception:  # an empty set may refuse truncation on some versions
        pass
    policy = {"key": aerospike.POLICY_KEY_SEND}
    n = 0
    for i in range(200):
        key: object = [f"user-{i}", i, bytearray(f"b{i}", "ascii")][i % 3]
        bins = {
            "int": i * 7 - 100,
            "float": i / 7,
            "str": f"name {i}\nwith line" if i % 5 == 0 else f"name {i}",
            "bytes": bytes([i % 256, 0, 255]),
            "list": [i, "two", [3.5, b"x"]],
            "map": {"a": i, "b": {"nested": True}},
            "bool": i % 2 == 0,
            "geo": aerospike.GeoJSON({"type": "Point", "coordinates": [i % 90, 1.5]}),
        }
        if i % 4 == 0:
            bins["sp ace"] = "escaped name"
        meta = {"ttl": aerospike.TTL_NEVER_EXPIRE if i % 3 == 0 else 86400 * (i + 1)}
        client.put(("test", SET, key), bins, meta=meta, policy=policy)
        n += 1
    client.close()
    return n


def c_backup(tmp_path: Path, name: str, *flags: str) -> Path:
    assert HOST and ASBACKUP
    host, port = HOST.rsplit(":", 1)
    out = tmp_path / name
    subprocess.run(
        [ASBACKUP, "-h", host, "-p", port, "-n", "test", "-s", SET, "-o", str(out), "-r", *flags],
        check=True, capture_output=True,
    )
    return out


@pytest.mark.parametrize("flags", [(), ("--compact",)])
def test_asbackup_files_rewrite_byte_for_byte(tmp_path: Path, loaded: int, flags: tuple[str, ...]) -> None:
    path = c_backup(tmp_path, "x.asb", *flags)
    records = [e for e in asbkit.read_backup(path) if isinstance(e, asbkit.Record)]
    assert len(records) == loaded
    assert rewrite(path) == path.read_bytes()
    assert result_of(convert, str(path), str(tmp_path / "x.jsonl")).ok
    assert result_of(convert, str(tmp_path / "x.jsonl"), str(tmp_path / "y.asb")).ok
    assert (tmp_path / "y.asb").read_bytes() == path.read_bytes()
    deep = result_of(validate, str(path), deep=True)
    assert deep.ok, deep.data.deep
    assert deep.data.deep is not None and deep.data.deep.keys_checked == loaded
    if flags:
        assert any(b.compact for r in records for b in r.bins)


def test_asbackup_zstd_file_decodes_and_round_trips(tmp_path: Path, loaded: int) -> None:
    zstandard = pytest.importorskip("zstandard")
    path = c_backup(tmp_path, "z.asb", "--compress", "zstd")
    layers = Layers(compress="zstd")
    assert len([e for e in asbkit.read_backup(path, layers) if isinstance(e, asbkit.Record)]) == loaded
    decoded = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(path.read_bytes()), read_across_frames=True).read()
    assert rewrite(path, layers) == decoded
