"""astools.conf as the C tools read it: files in order, instances, includes, the command
line winning, every flag settable from a file, and errors that name file, key and line."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asbkit.cli.app import build_parser, commands, with_config
from asbkit.cli.commands.restore import options_from as restore_options
from asbkit.cli.config import ConfigError, config_flags, files_to_read


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of our own, so ~/.aerospike/astools.conf is the test's."""
    h = tmp_path / "home"
    (h / ".aerospike").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(h))
    return h


def args_for(*argv: str) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    return with_config(parser, args, list(argv), commands()[args.command])


def test_home_file_then_config_file_then_the_command_line(home: Path, tmp_path: Path) -> None:
    (home / ".aerospike" / "astools.conf").write_text('[cluster]\nhost = "10.0.0.1"\nport = 3100\n[asbackup]\nparallel = 3\nnamespace = "from_home"\n')
    extra = tmp_path / "extra.conf"
    extra.write_text('[asbackup]\nparallel = 5\nno-bins = true\n')
    a = args_for("backup", "-d", "x", "--config-file", str(extra))
    assert (a.hosts, a.port, a.parallel, a.namespace, a.no_bins) == ("10.0.0.1", 3100, 5, "from_home", True)
    a = args_for("backup", "-d", "x", "--config-file", str(extra), "-w", "9", "-p", "4000")
    assert (a.parallel, a.port) == (9, 4000), "the command line wins"
    a = args_for("backup", "-d", "x", "--no-config-file")
    assert (a.hosts, a.parallel) == ("127.0.0.1", None)
    a = args_for("backup", "-d", "x", "--only-config-file", str(extra))
    assert (a.hosts, a.parallel, a.namespace) == ("127.0.0.1", 5, "")


def test_default_files_are_etc_then_home(home: Path) -> None:
    (home / ".aerospike" / "astools.conf").write_text("")
    files = files_to_read(config_flags(["backup"]))
    assert files[-1] == home / ".aerospike" / "astools.conf"
    assert all(str(f) in ("/etc/aerospike/astools.conf", str(home / ".aerospike" / "astools.conf")) for f in files)


def test_instances_read_their_own_sections(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text('[cluster]\nport = 1\n[cluster_east]\nport = 3200\n[asrestore_east]\nparallel = 7\n[asrestore]\nparallel = 2\n')
    a = args_for("restore", "-d", "x", "--only-config-file", str(conf), "--instance", "east")
    assert (a.port, a.parallel) == (3200, 7)
    a = args_for("restore", "-d", "x", "--only-config-file", str(conf))
    assert (a.port, a.parallel) == (1, 2)


def test_includes_files_and_directories_three_deep(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "tls.conf").write_text('[cluster]\ntls-enable = true\ntls-name = "node1"\n')
    (tmp_path / "one.conf").write_text('[include]\nfile = "two.conf"\n[cluster]\nuser = "u1"\n')
    (tmp_path / "two.conf").write_text('[include]\ndirectory = "d"\n[asrestore]\nunique = true\n')
    main = tmp_path / "main.conf"
    main.write_text('[include]\nfile = "one.conf"\n')
    a = args_for("restore", "-d", "x", "--only-config-file", str(main))
    assert (a.user, a.unique, a.tls_enable, a.tls_name) == ("u1", True, True, "node1")
    (tmp_path / "d" / "tls.conf").write_text('[include]\nfile = "../main.conf"\n')
    with pytest.raises(ConfigError, match="deeper than 3"):
        args_for("restore", "-d", "x", "--only-config-file", str(main))


def test_asrestore_s_config_only_keys_and_asbackup_sparse_nice(tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text("[asrestore]\nbandwidth = 20\ntps = 4000\n[asbackup]\nnice = 7\n")
    _, o = restore_options(args_for("restore", "-d", "x", "--only-config-file", str(conf)))
    assert (o.bandwidth_mib, o.tps) == (20, 4000)
    _, o = restore_options(args_for("restore", "-d", "x", "--only-config-file", str(conf), "-N", "1,2"))
    assert (o.bandwidth_mib, o.tps) == (1, 2)
    assert args_for("backup", "-d", "x", "--only-config-file", str(conf)).nice == 7


@pytest.mark.parametrize(
    "text, words, line",
    [
        ("[asbackup]\n\nparralel = 3\n", "key 'parralel'", 3),
        ("[asbackup]\nno-bins = \"yes\"\n", "no-bins is true or false", 2),
        ("[asbackup]\nparallel = \"four\"\n", "parallel takes a number", 2),
        ("[cluster]\nport = true\n", "port takes a number", 2),
        ("[asbackup]\ncompress = \"lz4\"\n", "compress takes one of zstd", 2),
        ("[asbackup]\nversion = true\n", "key 'version'", 2),
        ("[asbackup\nx = 1\n", "not valid TOML", 1),
    ],
)
def test_a_wrong_key_or_type_names_file_key_and_line(tmp_path: Path, text: str, words: str, line: int) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=words) as info:
        args_for("backup", "-d", "x", "--only-config-file", str(conf))
    assert (info.value.path, info.value.line) == (str(conf), line)


def test_the_cli_exits_2_with_the_location(tmp_path: Path) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text("[asrestore]\nparralel = 3\n")
    p = subprocess.run([sys.executable, "-m", "asbkit", "restore", "-d", "x", "--only-config-file", str(conf)], capture_output=True, text=True)
    assert p.returncode == 2
    assert f"{conf}:2:" in p.stderr and "parralel" in p.stderr


def _value_for(action: argparse.Action) -> Any:
    if isinstance(action, argparse._StoreTrueAction):
        return True
    if action.choices:
        return sorted(action.choices)[0]
    if action.type is int:
        return 7
    if action.type is float:
        return 2.5
    return "v"


@pytest.mark.parametrize("command, section", [("backup", "asbackup"), ("restore", "asrestore"), ("verify", "asbkit-verify")])
def test_every_flag_can_come_from_a_file(tmp_path: Path, command: str, section: str) -> None:
    parser = build_parser()
    sub = parser._defaults["_subparsers"][command]
    skip = {"help", "version", "config_file", "only_config_file", "no_config_file", "instance", "backup"}
    lines, expected = [f"[{section}]"], {}
    for action in sub._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if not longs or action.dest in skip or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        value = _value_for(action)
        toml = "true" if value is True else str(value) if isinstance(value, (int, float)) else f'"{value}"'
        lines.append(f"{longs[0][2:]} = {toml}")
        expected[action.dest] = value
    conf = tmp_path / "all.conf"
    conf.write_text("\n".join(lines) + "\n")
    a = args_for(command, "--only-config-file", str(conf))
    for dest, value in expected.items():
        assert getattr(a, dest) == value, dest
    assert len(expected) > 40
