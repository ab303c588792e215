"""`asbkit backup`'s flags as asbackup spells them, the combinations it refuses, and the
filter expressions and partition lists it builds (no server needed)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from asbkit import BackupOptions
from asbkit.backing_up.options import check_options
from asbkit.cli.app import build_parser
from asbkit.cli.commands.backup import options_from
from asbkit.cluster.expressions import backup_filter, parse_backup_time
from asbkit.cluster.partitions import PartitionRange, after_digest_range, jobs_for, parse_partition_list


def parse(*argv: str):  # type: ignore[no-untyped-def]
    return options_from(build_parser().parse_args(["backup", *argv]))


def test_every_asbackup_flag_short_and_long() -> None:
    short = parse(
        "-h", "10.0.0.1:tls1:3100,10.0.0.2", "-p", "3200", "-U", "u", "-P", "pw", "-A", "EXTERNAL", "-S",
        "-n", "ns", "-s", "a,'b,c'", "-B", "x,y", "-x", "-R", "-I", "-u", "-M", "7",
        "-d", "dir", "-q", "pre", "-F", "3", "-r", "-c", "st", "-a", "2026-01-02", "-b", "12:00:00",
        "-w", "4", "-L", "500", "-N", "2", "-C", "-z", "zstd", "-y", "aes128", "--encryption-key-env", "K",
        "-e",
    )
    cfg, o = short
    assert (cfg.hosts, cfg.port, cfg.user, cfg.password, cfg.auth, cfg.services_alternate) == ("10.0.0.1:tls1:3100,10.0.0.2", 3200, "u", "pw", "EXTERNAL", True)
    assert o.sets == ["a", "b,c"] and o.bin_list == ["x", "y"]
    assert (o.no_bins, o.no_records, o.no_indexes, o.no_udfs, o.max_records) == (True, True, True, True, 7)
    assert (o.directory, o.output_file_prefix, o.file_limit, o.remove_files, o.continue_from) == ("dir", "pre", 3, True, "st")
    assert (o.modified_after, o.modified_before, o.parallel, o.records_per_second, o.nice, o.compact) == ("2026-01-02", "12:00:00", 4, 500, 2, True)
    assert (o.layers.compress, o.layers.encrypt, o.layers.key_env, o.estimate) == ("zstd", "aes128", "K", True)
    cfg, o = parse(
        "--host", "h", "--port", "1", "--user", "u", "--auth", "PKI", "--services-alternate", "--prefer-racks", "1,2",
        "--socket-timeout", "5", "--total-timeout", "6", "--max-retries", "7", "--retry-delay", "8",
        "--namespace", "ns", "--set", "s", "--bin-list", "b", "--no-bins", "--no-records", "--no-indexes", "--no-udfs",
        "--max-records", "9", "--output-file", "f.asb", "--output-file-prefix", "p", "--file-limit", "10",
        "--remove-files", "--state-file-dst", "sd", "--modified-after", "01:00:00", "--modified-before", "02:00:00",
        "--no-ttl-only", "--filter-exp", "kwGRRf8=", "--partition-list", "0-10", "--after-digest", "x", "--node-list", "h:1",
        "--parallel", "2", "--records-per-second", "3", "--nice", "4", "--compact", "--compress", "zstd",
        "--compression-level", "5", "--encrypt", "aes256", "--encryption-key-file", "k.pem",
        "--estimate-samples", "11", "--tls-enable", "--tls-name", "tn", "--tls-cafile", "ca", "--tls-capath", "cap",
        "--tls-protocols", "TLSv1.3", "--tls-cipher-suite", "X", "--tls-keyfile", "kf", "--tls-keyfile-password", "pw",
        "--tls-certfile", "cf", "--tls-crl-check", "--tls-crl-check-all",
    )
    assert (cfg.prefer_racks, cfg.socket_timeout_ms, cfg.total_timeout_ms, cfg.tls.name) == ([1, 2], 5, 6, "tn")
    assert cfg.tls.client_settings() == {
        "enable": True, "cafile": "ca", "capath": "cap", "protocols": "TLSv1.3", "cipher_suite": "X",
        "keyfile": "kf", "certfile": "cf", "keyfile_pw": "pw", "crl_check": True, "crl_check_all": True,
    }
    assert (o.max_retries, o.sleep_between_retries, o.output_file, o.state_file_dst, o.estimate_samples) == (7, 8, "f.asb", "sd", 11)
    assert (o.layers.compression_level, o.layers.key_file, o.no_ttl_only, o.filter_exp) == (5, "k.pem", True, "kwGRRf8=")
    # The legacy camelCase TLS spellings.
    cfg, _ = parse("-n", "ns", "-d", "d", "--tlsEnable", "--tlsCaFile", "ca", "--tlsName", "tn")
    assert cfg.tls.cafile == "ca" and cfg.tls.name == "tn"


def test_defaults_are_asbackup_s() -> None:
    cfg, o = parse("-n", "ns", "-d", "d")
    assert (cfg.hosts, cfg.port, cfg.socket_timeout_ms, cfg.total_timeout_ms, cfg.auth) == ("127.0.0.1", 3000, 10_000, 0, "INTERNAL")
    assert (o.file_limit, o.max_retries, o.estimate_samples, o.parallel, o.max_records) == (250, 5, 10_000, None, 0)
    assert cfg.password is None  # prompted for when a user is given


def test_help_is_help_Z_and_usage_since_h_is_the_host(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--help", "-Z", "--usage"):
        with pytest.raises(SystemExit) as e:
            build_parser().parse_args(["backup", flag])
        assert e.value.code == 0
        assert "--namespace" in capsys.readouterr().out


@pytest.mark.parametrize(
    "options, words",
    [
        (dict(), "exactly one of -d/--directory and -o/--output-file"),
        (dict(directory="d", output_file="f"), "exactly one"),
        (dict(directory="d", filter_exp="kwGRRf8=", modified_after="2020-01-01"), "--filter-exp cannot be combined"),
        (dict(directory="d", filter_exp="kwGRRf8=", sets=["a", "b"]), "more than one set"),
        (dict(directory="d", partition_list="0", after_digest="x"), "mutually exclusive"),
        (dict(directory="d", after_digest="x", node_list="h:1"), "mutually exclusive"),
        (dict(directory="d", parallel=101), "1 to 100"),
        (dict(directory="d", file_limit=0), "at least 1"),
        (dict(directory="d", continue_from="s", remove_files=True), "cannot be combined with -r"),
        (dict(directory="d", bin_list=["a" * 16]), "longer than 15 bytes"),
        (dict(estimate=True, directory="d"), "--estimate cannot be combined with -d"),
        (dict(estimate=True, no_records=True), "-R/--no-records"),
        (dict(remove_artifacts=True), "--remove-artifacts needs"),
    ],
)
def test_refused_combinations_name_their_flags(options: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        check_options(BackupOptions(namespace="ns", **options))


def test_filter_expressions_are_the_bytes_asbackup_sends() -> None:
    # Checked against a live server in tests/cluster.
    assert backup_filter(no_ttl_only=True) == bytes.fromhex("93019145ff")
    assert backup_filter(modified_after_ns=0, no_ttl_only=True) == bytes.fromhex("9310930491420093019145ff")
    assert backup_filter(sets=["set1", "x"]) == bytes.fromhex("93119301914 6a50373657431 93019146a20378".replace(" ", ""))
    assert backup_filter(sets=["only"]) is None, "one set is a scan of that set, not a filter"
    ns = 1_700_000_000 * 10**9
    assert backup_filter(modified_before_ns=ns) == bytes.fromhex("930591" + "42") + b"\xcf" + ns.to_bytes(8, "big")
    assert backup_filter() is None


def test_dates_in_the_c_tools_forms_in_local_time() -> None:
    now = dt.datetime(2026, 5, 6, 7, 8, 9)
    full = parse_backup_time("2026-01-02_03:04:05")
    assert full == int(dt.datetime(2026, 1, 2, 3, 4, 5).timestamp()) * 10**9
    assert parse_backup_time("2026-01-02") == int(dt.datetime(2026, 1, 2).timestamp()) * 10**9
    assert parse_backup_time("10:11:12", now) == int(dt.datetime(2026, 5, 6, 10, 11, 12).timestamp()) * 10**9
    with pytest.raises(ValueError, match="YYYY-MM-DD_HH:MM:SS"):
        parse_backup_time("yesterday")


def test_partition_lists_and_jobs() -> None:
    assert parse_partition_list("200-5,0,10-2") == [PartitionRange(0, 1), PartitionRange(10, 2), PartitionRange(200, 5)]
    digest = bytes(range(20))
    item = base64.b64encode(digest).decode()
    assert parse_partition_list(item) == [PartitionRange(0x100 & 0xFFF, 1, digest)]
    for bad, words in (("0-10,5", "overlap"), ("4096", "0 to 4095"), ("4000-200", "at most 4096"), ("x", "begin"), ("", "empty")):
        with pytest.raises(ValueError, match=words):
            parse_partition_list(bad)
    after = after_digest_range(item)
    assert (after.begin, after.count, after.after) == (0x100, 4096 - 0x100, digest)
    with pytest.raises(ValueError, match="28 characters"):
        after_digest_range("abc")
    jobs = jobs_for([PartitionRange(0, 4096)], 3)
    assert [(j.begin, j.count) for j in jobs] == [(0, 1365), (1365, 1365), (2730, 1366)]
    split = jobs_for([after], 2)
    assert split[0].after == digest and split[1].after is None
    assert sum(j.count for j in split) == after.count
    assert len(jobs_for([PartitionRange(5, 2)], 8)) == 2, "never more jobs than partitions"


def test_continuing_from_a_foreign_or_mismatched_state_is_refused_before_connecting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from asbkit import ClusterConfig, backup
    from asbkit.backing_up.options import fingerprint
    from asbkit.backing_up.state import save_state

    from ..helpers.results import result_of

    nowhere = ClusterConfig(hosts="127.0.0.1", port=1)
    bogus = tmp_path / "c.state"
    bogus.write_bytes(b"\x00" * 64)
    r = result_of(backup, nowhere, BackupOptions(namespace="ns", directory=str(tmp_path / "d"), continue_from=str(bogus)))
    assert not r.ok and "not an asbkit backup state" in str(r.errors[0])
    before = BackupOptions(namespace="ns", directory=str(tmp_path / "d"), sets=["a"])
    state = tmp_path / "ours.state"
    save_state(state, namespace="ns", target={}, layers="plain", arguments=fingerprint(before), partitions=[], files=[], indexes=0, udfs=0, tool="t")
    changed = BackupOptions(namespace="ns", directory=str(tmp_path / "d"), sets=["b"], continue_from=str(state))
    r = result_of(backup, nowhere, changed)
    assert not r.ok and "options differ" in str(r.errors[0]) and "sets" in str(r.errors[0])
    layered = BackupOptions(namespace="ns", directory=str(tmp_path / "d"), sets=["a"], continue_from=str(state), layers=__import__("asbkit").Layers(compress="zstd"))
    r = result_of(backup, nowhere, layered)
    assert not r.ok and "-z/-y" in str(r.errors[0])
    # A state whose partitions were edited (a digest cut short) is refused in words.
    import json

    doc = json.loads(state.read_text())
    doc["partitions"] = [[7, "AAAA", 1, False]]
    state.write_text(json.dumps(doc))
    r = result_of(backup, nowhere, BackupOptions(namespace="ns", directory=str(tmp_path / "d"), sets=["a"], continue_from=str(state)))
    assert not r.ok and "a damaged asbkit backup state" in str(r.errors[0]) and "20 bytes" in str(r.errors[0])
    assert str(state) in str(r.errors[0])
