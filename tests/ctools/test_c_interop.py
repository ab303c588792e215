"""Files asbkit writes are accepted by C asrestore, and both tools agree on bad input.

Needs a C `asrestore` built from aerospike-tools-backup: set ASBKIT_C_ASRESTORE to its path.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asbkit
from asbkit import BackupWriter, Header, Layers, _codec
from asbkit.io import write_synthetic

from ..helpers.files import SAMPLE, vector
from ..helpers.records import records
from ..helpers.results import result_of

ASRESTORE = os.environ.get("ASBKIT_C_ASRESTORE")
pytestmark = pytest.mark.skipif(not ASRESTORE, reason="set ASBKIT_C_ASRESTORE to a C asrestore binary")


def c_validate(path: Path, *flags: str) -> tuple[int, str]:
    assert ASRESTORE
    proc = subprocess.run(
        [ASRESTORE, "--validate", "--input-file", str(path), *flags],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def c_counts(output: str) -> tuple[int, int, int]:
    m = re.search(r"(\d+) UDF file\(s\), (\d+) secondary index\(es\), (\d+) record\(s\)", output)
    assert m, output
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@pytest.mark.parametrize("compress", [None, "zstd"])
@pytest.mark.parametrize("encrypt", [None, "aes128", "aes256"])
def test_c_reads_what_we_write(tmp_path: Path, compress: str | None, encrypt: str | None) -> None:
    key = vector("tools-backup/test/test_key.pem")
    layers = Layers(compress=compress, encrypt=encrypt, key_file=str(key) if encrypt else None)
    out = tmp_path / "out.asb"
    reader = asbkit.read_backup(SAMPLE)
    entities = list(reader)
    with BackupWriter(out, "test", layers=layers, header=reader.header) as w:
        for e in entities:
            w.write(e)
    flags = (["--compress", "zstd"] if compress else []) + (
        ["--encrypt", encrypt, "--encryption-key-file", str(key)] if encrypt else []
    )
    code, output = c_validate(out, *flags)
    assert code == 0, output
    assert c_counts(output) == (1, 2, 3)


def test_c_reads_a_synthetic_backup(tmp_path: Path) -> None:
    out = tmp_path / "syn.asb"
    records_written, _ = write_synthetic(out, 2_000_000)
    code, output = c_validate(out)
    assert code == 0, output
    assert c_counts(output)[2] == records_written


@settings(max_examples=int(os.environ.get("ASBKIT_C_EXAMPLES", "25")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(records, min_size=1, max_size=10))
def test_c_reads_random_records(tmp_path: Path, recs: list[asbkit.Record]) -> None:
    out = tmp_path / "rand.asb"
    w = _codec.Writer(str(out), Header("test", True), layers=Layers().codec_args())
    for r in recs:
        w.write(r)
    w.close()
    code, output = c_validate(out)
    assert code == 0, output
    assert c_counts(output)[2] == len(recs)


def test_both_reject_the_bad_vector_at_the_same_place() -> None:
    bad = vector("tools-backup/test/test_bad_backup_file.asb")
    code, output = c_validate(bad)
    assert code != 0 and "(line 13, col 3)" in output
    result = result_of(asbkit.validate, bad)
    assert (result.errors[0].line, result.errors[0].column) == (13, 3)


#: Where we are stricter than asrestore on purpose: inputs its writer never produces and its
#: reader guesses at (empty numbers read as 0, a backslash inside a number dropped, base64
#: digests with '=' inside or no padding).
STRICTER_ON_PURPOSE = ("is empty", "must be a 64-bit signed integer", "must be decimal digits", "digest must be 28 base64")


def test_mutated_files_are_judged_as_c_judges_them(tmp_path: Path) -> None:
    """Random small mutations of valid files: we accept exactly what asrestore accepts,
    except where we are stricter on purpose."""
    import io
    import random

    rng = random.Random(20261124)
    seeds = [SAMPLE.read_bytes(), vector("tools-backup/test/test_backup_file.asb").read_bytes()]
    alphabet = b" \n\\+-*#0123456789abcdefXYZ!=/\x00\xff"
    path = tmp_path / "m.asb"
    disagreements = []
    for _ in range(int(os.environ.get("ASBKIT_C_MUTATIONS", "300"))):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(data))
            c = rng.choice(alphabet) if rng.random() < 0.8 else rng.randrange(256)
            op = rng.randrange(3)
            if op == 0:
                data[i] = c
            elif op == 1:
                data.insert(i, c)
            elif len(data) > 13:
                del data[i]
        path.write_bytes(bytes(data))
        c_ok = c_validate(path)[0] == 0
        try:
            list(_codec.Reader(io.BytesIO(bytes(data)), layers=Layers().codec_args()))
            ours, message = True, ""
        except asbkit.AsbError as exc:
            ours, message = False, exc.message
        if ours != c_ok and not (c_ok and any(m in message for m in STRICTER_ON_PURPOSE)):
            disagreements.append((bytes(data), c_ok, message))
    assert disagreements == []
