"""`asbkit restore` and `verify` on the command line, without a server: asrestore's flags,
short and long, with its defaults; the combinations it refuses; --validate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from asbkit import RestoreOptions
from asbkit.cli.app import build_parser
from asbkit.cli.commands.restore import options_from, parse_nice
from asbkit.restoring.options import check_options


def parse(*argv: str) -> RestoreOptions:
    return options_from(build_parser().parse_args(["restore", *argv]))[1]


def test_asrestore_short_and_long_flags() -> None:
    o = parse("-d", "bk", "-n", "a,b", "-s", "s1,s2", "-B", "x,y", "-u", "-R", "-I", "-F", "-L", "-w", "-t", "7", "-N", "5,100", "--extra-ttl", "60", "--ignore-record-error", "--batch-size", "64", "--max-async-batches", "4", "--disable-batch-writes", "--retry-scale-factor", "20000", "-T", "3000")
    assert (o.directory, o.namespace, o.sets, o.bin_list) == ("bk", "a,b", ["s1", "s2"], ["x", "y"])
    assert (o.unique, o.no_records, o.no_indexes, o.no_udfs, o.indexes_last, o.wait) == (True,) * 6
    assert (o.parallel, o.bandwidth_mib, o.tps, o.extra_ttl, o.ignore_record_error) == (7, 5, 100, 60, True)
    assert (o.batch_size, o.max_async_batches, o.disable_batch_writes, o.retry_scale_factor_us, o.timeout_ms) == (64, 4, True, 20000, 3000)
    o = parse("--input-file", "f.asb", "--replace", "--no-generation", "--threads", "3", "--set-list", "a", "--bin-list", "b", "--no-records")
    assert (o.input_file, o.replace, o.no_generation, o.parallel, o.sets, o.bin_list, o.no_records) == ("f.asb", True, True, 3, ["a"], ["b"], True)
    o = parse("-i", "-")
    assert (o.parallel, o.batch_size, o.max_retries, o.retry_scale_factor_us, o.timeout_ms, o.max_async_batches) == (20, None, 5, 150_000, 10_000, 32)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["-d", "a", "-i", "b"], "exactly one"),
        ([], "exactly one"),
        (["-d", "a", "-u", "-r"], "--unique"),
        (["-d", "a", "-u", "-g"], "--unique"),
        (["-d", "a", "-n", "a,b,c"], "A or A,B"),
        (["-d", "a", "-t", "0"], "--parallel"),
        (["-d", "a", "-B", "a_bin_name_too_long"], "-B/--bin-list"),
        (["-i", "a", "--parent-directory", "p"], "--directory-list"),
    ],
)
def test_refused_combinations(argv: list[str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_options(parse(*argv))


def test_nice_takes_bandwidth_and_tps() -> None:
    assert parse_nice("10,500") == (10, 500)
    assert parse_nice("10") == (10, 0)
    assert parse_nice(None) == (0, 0)
    with pytest.raises(ValueError, match="MiB/s,TPS"):
        parse_nice("fast")


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asbkit", *argv], capture_output=True, text=True, timeout=120)


def test_help_lists_every_asrestore_flag() -> None:
    out = run_cli("restore", "--help").stdout
    for flag in ("--namespace", "--directory", "--input-file", "--directory-list", "--parent-directory", "--parallel", "--threads",
                 "--bin-list", "--set-list", "--unique", "--replace", "--no-generation", "--ignore-record-error", "--extra-ttl",
                 "--nice", "--validate", "--no-records", "--no-indexes", "--no-udfs", "--indexes-last", "--wait", "--timeout",
                 "--socket-timeout", "--total-timeout", "--max-retries", "--retry-scale-factor", "--sleep-between-retries",
                 "--retry-delay", "--disable-batch-writes", "--max-async-batches", "--batch-size", "--event-loops",
                 "--compress", "--encrypt", "--encryption-key-file", "--encryption-key-env", "--host", "--port", "--user",
                 "--password", "--auth", "--tls-enable", "--services-alternate"):
        assert flag in out, flag


def test_bad_combination_exits_2() -> None:
    p = run_cli("restore", "-d", "x", "-u", "-r")
    assert p.returncode == 2 and "--unique" in p.stderr


def test_validate_parses_without_a_cluster(upstream_asb: Path) -> None:
    p = run_cli("restore", "-h", "127.0.0.1", "-p", "1", "--validate", "-i", str(upstream_asb))
    assert p.returncode == 0, p.stderr
    assert "valid: 1 file, 1 record" in p.stdout


def test_a_missing_directory_is_said(tmp_path: Path) -> None:
    p = run_cli("restore", "-p", "1", "-d", str(tmp_path / "nothing"), "--no-progress")
    assert p.returncode != 0 and "nothing" in p.stderr


def test_an_unreadable_input_has_one_code_whichever_flag_named_it(tmp_path: Path) -> None:
    import json

    for flag in ("-d", "-i"):
        p = run_cli("restore", "-p", "1", flag, str(tmp_path / "nothing"), "--no-progress", "--output", "json")
        doc = json.loads(p.stdout)
        assert (p.returncode, doc["exit_code"], doc["errors"][0]["code"]) == (4, 4, "input_unreadable"), (flag, doc)
        assert str(tmp_path / "nothing") in doc["errors"][0]["path"]


def test_a_wrong_layer_is_said_before_connecting(upstream_asb: Path) -> None:
    # Port 1 has no server: the layer check comes first and names the file.
    p = run_cli("restore", "-p", "1", "-i", str(upstream_asb), "-z", "zstd", "--no-progress")
    assert p.returncode != 0 and str(upstream_asb) in p.stderr and "--compress" in p.stderr


def test_verify_flags() -> None:
    from asbkit.cli.commands.verify import options_from as verify_options

    args = build_parser().parse_args(["verify", "bk.asb", "-n", "a,b", "-B", "x", "-t", "3", "--max-differences", "5"])
    _, o = verify_options(args)
    assert (o.input_file, o.namespace, o.bin_list, o.parallel) == ("bk.asb", "a,b", ["x"], 3)
    assert args.max_differences == 5


def test_progress_logs_asrestore_s_lines_when_not_on_a_terminal(caplog: pytest.LogCaptureFixture) -> None:
    import io
    import logging

    from asbkit import RestoreCounters, RestoreProgress
    from asbkit.cli.display import RestoreDisplay

    p = RestoreDisplay(enabled=False, stream=io.StringIO())
    p.LOG_EVERY = 0.0
    counters = RestoreCounters(read=10, expired=1, skipped=2, err_ignored=0, inserted=4, updated=1, existed=1, fresher=1, failed=0, retries=3, raw_bytes=500)
    with caplog.at_level(logging.INFO, logger="asbkit.restore"):
        p(RestoreProgress(counters, total_bytes=1000))
    lines = [r.getMessage() for r in caplog.records]
    assert "Expired 1 : skipped 2 : err_ignored 0 : inserted 5: failed 2 (existed 1 , fresher 1)" in lines
    assert any(line.startswith("50% complete, ~") for line in lines)
    assert any("retries: 3" in line for line in lines)


def test_stdin_with_a_size_parses_as_asrestore_takes_it() -> None:
    from asbkit.cli.app import join_stdin_sizes
    from asbkit.restoring.options import input_files, stdin_size

    assert join_stdin_sizes(["restore", "-i", "-:123", "-n", "x"]) == ["restore", "-i-:123", "-n", "x"]
    assert join_stdin_sizes(["restore", "--input-file", "-:9"]) == ["restore", "--input-file=-:9"]
    o = parse(*join_stdin_sizes(["-i", "-:123"])[0:])
    assert o.input_file == "-:123" and input_files(o) == ["-"] and stdin_size(o.input_file) == 123
    assert stdin_size("-") == 0 and stdin_size("f.asb") is None


def test_restore_help_speaks_of_writes() -> None:
    p = subprocess.run([sys.executable, "-m", "asbkit", "restore", "--help"], env={**os.environ, "COLUMNS": "300"}, capture_output=True, text=True)
    text = " ".join(p.stdout.split())
    assert "total timeout of a batch write" in text and "retries of a batch whose write failed" in text
    assert "scan" not in text and "tries of a partition" not in text
    assert "--sleep-between-retries MS, --retry-delay MS accepted for asrestore's scripts, without effect" in text and "pause between tries (default 0)" not in text
