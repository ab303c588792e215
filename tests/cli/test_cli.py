"""The command line, run in-process and as a real process."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asbkit import Layers, _codec
from asbkit.cli import main
from asbkit.cli.display import Progress
from asbkit.io import write_synthetic

from ..helpers.files import SAMPLE, vector
from ..helpers.results import as_data, result_of


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(capsys: pytest.CaptureFixture[str], upstream_asb: Path) -> None:
    code, out, err = run(capsys, "validate", str(upstream_asb))
    assert code == 0
    assert "valid: 1 file, 1 record, 0 indexes, 0 UDFs, 168 bytes of text" in out
    assert err == ""


def test_validate_bad_file_exits_1_with_location(capsys: pytest.CaptureFixture[str], bad_asb: Path) -> None:
    code, out, err = run(capsys, "validate", str(bad_asb))
    assert code == 1
    assert f"{bad_asb}:13:3 (byte 160): invalid bin type" in err


def test_validate_json_envelope(capsys: pytest.CaptureFixture[str], bad_asb: Path) -> None:
    code, out, _ = run(capsys, "validate", "--output", "json", str(bad_asb))
    doc = json.loads(out)
    assert code == 1 and doc["exit_code"] == 1
    assert (doc["schema"], doc["version"], doc["command"], doc["status"]) == ("asbkit.result", 1, "validate", "error")
    (error,) = doc["errors"]
    assert (error["code"], error["line"], error["column"], error["offset"]) == ("parse_error", 13, 3, 160)
    assert error["path"] == str(bad_asb)


def test_validate_names_missing_compress_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", str(vector("generated/test_backup_file.zstd.asb")))
    assert code == 1
    assert "this file is zstd-compressed: pass --compress zstd" in err


def test_validate_encrypted_with_short_flags(capsys: pytest.CaptureFixture[str], test_key: Path) -> None:
    path = vector("generated/test_backup_file.zstd.aes128.asb")
    code, out, _ = run(capsys, "validate", "-z", "zstd", "-y", "aes128", "--encryption-key-file", str(test_key), str(path))
    assert code == 0 and "1 record" in out and "zstd+aes128" in out


def test_key_problems_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    bad = vector("tools-backup/test/bad_test_key.pem")
    path = vector("generated/test_backup_file.aes128.asb")
    code, _, err = run(capsys, "validate", "-y", "aes128", "--encryption-key-file", str(bad), str(path))
    assert code == 3
    assert "not a usable PEM private key" in err
    code, _, err = run(capsys, "validate", "-y", "aes128", str(path))
    assert code == 2 and "needs --encryption-key-file or --encryption-key-env" in err


def test_missing_file_exits_4(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "nope.asb"))
    assert code == 4 and "nope.asb" in err


def test_directory_counts_every_asb_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, upstream_asb: Path) -> None:
    for name in ("a_00000.asb", "a_00001.asb"):
        shutil.copy(upstream_asb, tmp_path / name)
    (tmp_path / "a.asb.state").write_bytes(b"not a backup")
    code, out, _ = run(capsys, "validate", "--output", "json", str(tmp_path))
    doc = json.loads(out)
    assert code == 0
    assert doc["data"]["records"] == 2
    assert [Path(f["path"]).name for f in doc["data"]["files"]] == ["a_00000.asb", "a_00001.asb"]


def test_inspect_reports_what_is_inside(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", "--output", "json", str(SAMPLE))
    assert code == 0
    data = json.loads(out)["data"]
    assert data["records"] == 3 and data["namespaces"] == ["test"]
    assert data["first_file"] == str(SAMPLE)
    assert data["keys"] == {"integer": 1, "string": 1, "bytes": 1}
    assert {s["set"]: s["records"] for s in data["sets"]} == {"demo": 2, None: 1}
    bins = {b["name"]: b["types"] for b in data["bins"]}
    assert bins["my bin"] == {"string": 1} and bins["tags"] == {"list": 1} and bins["loc"] == {"geojson": 1}
    assert data["expiry"] == {
        "never_expire": 2,
        "expiring": 1,
        "expired_now": 1,
        "earliest_void_time": 500000000,
        "latest_void_time": 500000000,
        "earliest": "2025-11-05T00:53:20Z",
        "latest": "2025-11-05T00:53:20Z",
    }
    assert [i["name"] for i in data["indexes"]] == ["idx_age", "idx_tags"]
    assert data["udfs"] == [{"name": "hello.lua", "bytes": 32}]
    assert data["record_size"] == {"min": 89, "max": 282}


def test_inspect_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", str(SAMPLE))
    assert code == 0
    assert "Records:      3" in out
    assert "idx_tags on test: type L, tags (S)" in out
    assert "hello.lua (32 bytes)" in out
    assert "1 already expired: a restore skips them" in out


def test_stdin_and_module_entry_point(upstream_asb: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asbkit", "validate", "-"],
        stdin=upstream_asb.open("rb"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 record" in proc.stdout
    assert proc.stderr == "", "no progress output when stderr is not a terminal"


def test_console_script_is_installed(bad_asb: Path) -> None:
    exe = shutil.which("asbkit", path=os.path.dirname(sys.executable)) or shutil.which("asbkit")
    assert exe is not None
    proc = subprocess.run([exe, "validate", str(bad_asb)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "line" not in proc.stdout
    assert ":13:3" in proc.stderr


def test_progress_bar_draws_only_when_enabled(tmp_path: Path) -> None:
    path = tmp_path / "big.asb"
    write_synthetic(path, 3_000_000)
    stream = io.StringIO()
    bar = Progress(path.stat().st_size, enabled=True, stream=stream)
    bar._last = -1.0  # draw at the first update
    summarizer = _codec.Summarizer(False, None)
    updates: list[int] = []

    def tick(n: int) -> None:
        updates.append(n)
        bar._last = -1.0
        bar.update(n)

    summarizer.read(str(path), layers=Layers().codec_args(), progress=tick)
    assert updates and updates[-1] == path.stat().st_size
    assert "100.0%" in stream.getvalue()
    quiet = io.StringIO()
    Progress(10, enabled=False, stream=quiet).update(5)
    assert quiet.getvalue() == ""


def test_asrestore_spellings_of_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path, upstream_asb: Path) -> None:
    shutil.copy(upstream_asb, tmp_path / "x_00000.asb")
    code, out, _ = run(capsys, "validate", "-d", str(tmp_path), "--input-file", str(upstream_asb))
    assert code == 0 and "2 files, 2 records" in out
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2


@pytest.mark.parametrize("command", ["validate", "convert", "filter"])
def test_progress_bar_on_a_real_terminal(tmp_path: Path, command: str) -> None:
    pty = pytest.importorskip("pty")
    path = tmp_path / "big.asb"
    write_synthetic(path, 40_000_000)
    dest = {"validate": [], "convert": [str(tmp_path / "out.jsonl")], "filter": [str(tmp_path / "out.asb")]}[command]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "asbkit", command, str(path), *dest],
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    out, _ = proc.communicate(timeout=120)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert (b"valid:" in out) == (command == "validate")
    assert b"MiB/s" in drawn and b"%" in drawn, drawn


def test_directory_scans_in_parallel_give_the_same_figures(tmp_path: Path) -> None:
    from asbkit import inspect, validate

    for i in range(5):
        write_synthetic(tmp_path / f"p_{i:05}.asb", 300_000, seed=i)
    plain = Layers().codec_args()
    one_by_one = _codec.Summarizer(True, None)
    for f in sorted(tmp_path.iterdir()):
        one_by_one.read(str(f), layers=plain)
    parallel = _codec.Summarizer(True, None)
    parallel.read_paths([str(f) for f in sorted(tmp_path.iterdir())], threads=3, layers=plain, piece_size=_codec.PIECE_SIZE)
    a, b = as_data(one_by_one.result()), as_data(parallel.result())
    for d in (a, b):
        d.pop("indexes")
    assert a == b
    assert result_of(inspect, str(tmp_path)).data.records == a["records"]
    (tmp_path / "p_00002.asb").write_bytes(b"Version 3.1\n+ x\n")
    result = result_of(validate, str(tmp_path))
    assert result.errors[0].path.endswith("p_00002.asb") and result.errors[0].line == 2


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    # `asbkit convert big.asb - | head`: the closed pipe is not an error worth a message,
    # and the exit code says SIGPIPE as cat's would.
    src = tmp_path / "big.asb"
    write_synthetic(src, 3_000_000, seed=4)
    proc = subprocess.Popen(
        [sys.executable, "-m", "asbkit", "convert", str(src), "-", "--to", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith(b'{"type":"header"')
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert stderr == b""


def test_version_is_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    import asbkit

    assert asbkit.__version__ == version("asbkit")
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"asbkit {version('asbkit')}"
