"""The C tools' configuration files (TOML `astools.conf`), read as they read them.

Files: `/etc/aerospike/astools.conf`, then `~/.aerospike/astools.conf`, then
`--config-file P` (later ones win); `--only-config-file P` reads that file alone,
`--no-config-file` none. In each, `[cluster]` and the tool's own section
(`[asbackup]`, `[asrestore]`) hold long option names as keys; with `--instance N` the
sections `[cluster_N]`, `[asbackup_N]`… are read instead. `[include]` names more files
(`file = …`) or directories of them (`directory = …`), read in place, three levels deep
at most. The command line wins over every file.

A key no flag of the command has, or a value of the wrong type, is an error naming the
file, the section, the key and its line.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AsbError

DEFAULT_FILES = ("/etc/aerospike/astools.conf", "~/.aerospike/astools.conf")
MAX_INCLUDE_DEPTH = 3

#: Keys the C tools take only from a file, as the flags they stand for here.
CONFIG_ONLY = {
    # asrestore: -N is "bandwidth,tps" on the command line; the file has them apart.
    "asrestore": {"bandwidth": "nice_bandwidth", "tps": "nice_tps"},
}


class ConfigError(AsbError):
    """A configuration file cannot be used as it is."""

    code = "config_error"


@dataclass
class ConfigFlags:
    files: list[str] = field(default_factory=list)
    only: str | None = None
    none: bool = False
    instance: str | None = None


def add_config_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration files (as the C tools read astools.conf)")
    g.add_argument("--config-file", action="append", default=[], metavar="PATH", help="also read this TOML file (after /etc/aerospike/astools.conf and ~/.aerospike/astools.conf)")
    g.add_argument("--only-config-file", metavar="PATH", help="read this file and no other")
    g.add_argument("--no-config-file", action="store_true", help="read no configuration file")
    g.add_argument("--instance", metavar="N", help="read the sections [cluster_N], [asbackup_N]/[asrestore_N], [secret-agent_N]")


def config_flags(argv: list[str]) -> ConfigFlags:
    """The configuration flags of a command line, read before the rest of it."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config-file", action="append", default=[])
    pre.add_argument("--only-config-file")
    pre.add_argument("--no-config-file", action="store_true")
    pre.add_argument("--instance")
    known, _ = pre.parse_known_args(argv)
    return ConfigFlags(known.config_file, known.only_config_file, known.no_config_file, known.instance)


def files_to_read(flags: ConfigFlags) -> list[Path]:
    if flags.none:
        return []
    if flags.only:
        return [Path(flags.only)]
    found = [Path(os.path.expanduser(f)) for f in DEFAULT_FILES if Path(os.path.expanduser(f)).is_file()]
    return found + [Path(f) for f in flags.files]


@dataclass
class Setting:
    value: Any
    path: str
    section: str
    line: int | None


def _line_of(text: str, section: str, key: str) -> int | None:
    """The line of `key` in `[section]` (tomllib keeps no positions)."""
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]", stripped)
        if m:
            current = m.group(1).strip('"')
            continue
        if current == section and re.match(rf'^"?{re.escape(key)}"?\s*=', stripped):
            return n
    return None


def read_settings(flags: ConfigFlags, sections: tuple[str, ...]) -> dict[str, Setting]:
    """Every key of the wanted sections in every file, later files and sections winning."""
    wanted = [f"{s}_{flags.instance}" if flags.instance else s for s in sections]
    out: dict[str, Setting] = {}
    for path in files_to_read(flags):
        _read_file(path, wanted, out, depth=0)
    return out


def _read_file(path: Path, wanted: list[str], out: dict[str, Setting], depth: int) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file: {exc.strerror or exc}", path=str(path)) from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"not valid TOML: {exc}", path=str(path), line=line or (int(m.group(1)) if m else None)) from exc
    include = doc.get("include")
    if include is not None:
        if depth >= MAX_INCLUDE_DEPTH:
            raise ConfigError(f"[include] nested deeper than {MAX_INCLUDE_DEPTH} files", path=str(path), line=_line_of(text, "include", "file"))
        if not isinstance(include, dict):
            raise ConfigError("[include] must be a table of file = … and directory = …", path=str(path))
        for key, value in include.items():
            targets = value if isinstance(value, list) else [value]
            if key not in ("file", "directory") or not all(isinstance(t, str) for t in targets):
                raise ConfigError(f"[include] takes file = \"PATH\" and directory = \"PATH\", not {key} = {value!r}", path=str(path), line=_line_of(text, "include", key))
            for t in targets:
                target = (path.parent / os.path.expanduser(t)) if not os.path.isabs(os.path.expanduser(t)) else Path(os.path.expanduser(t))
                if key == "file":
                    _read_file(target, wanted, out, depth + 1)
                else:
                    if not target.is_dir():
                        raise ConfigError(f"[include] directory {t} is not a directory", path=str(path), line=_line_of(text, "include", key))
                    for f in sorted(p for p in target.iterdir() if p.is_file()):
                        _read_file(f, wanted, out, depth + 1)
    for section in wanted:
        table = doc.get(section)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table", path=str(path))
        for key, value in table.items():
            out[f"{section}\0{key}"] = Setting(value, str(path), section, _line_of(text, section, key))


def _long_options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    found: dict[str, argparse.Action] = {}
    for action in parser._actions:
        for opt in action.option_strings:
            if opt.startswith("--"):
                found.setdefault(opt[2:], action)
                found.setdefault(opt[2:].replace("-", "_"), action)
    return found


#: Flags that make no sense in a file.
NOT_FROM_FILES = {"help", "version", "config_file", "only_config_file", "no_config_file", "instance", "usage"}


def apply_settings(parser: argparse.ArgumentParser, settings: dict[str, Setting], tool: str, command: str) -> None:
    """The files' values as the parser's defaults (so the command line wins)."""
    options = _long_options(parser)
    defaults: dict[str, Any] = {}
    for setting_key, s in settings.items():
        key = setting_key.split("\0", 1)[1]
        where: dict[str, Any] = {"path": s.path, "line": s.line}
        extra = CONFIG_ONLY.get(tool, {}).get(key)
        if extra:
            if isinstance(s.value, bool) or not isinstance(s.value, int) or s.value < 0:
                raise ConfigError(f"[{s.section}] {key} takes a number, not {s.value!r}", **where)
            defaults[extra] = s.value
            continue
        action = options.get(key)
        if action is None or action.dest in NOT_FROM_FILES or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            raise ConfigError(f"[{s.section}] has a key {key!r} that asbkit {command} does not take (see asbkit {command} --help)", **where)
        defaults[action.dest] = _convert(action, s, key)
    parser.set_defaults(**defaults)


def _convert(action: argparse.Action, s: Setting, key: str) -> Any:
    where: dict[str, Any] = {"path": s.path, "line": s.line}
    v = s.value
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(v, bool):
            raise ConfigError(f"[{s.section}] {key} is true or false, not {v!r}", **where)
        return v if isinstance(action, argparse._StoreTrueAction) else not v
    if isinstance(v, (dict, list)) or isinstance(v, bool):
        raise ConfigError(f"[{s.section}] {key} takes {'a number' if action.type is int else 'a string'}, not {v!r}", **where)
    if action.type is int:
        if isinstance(v, str):
            try:
                v = int(v)
            except ValueError:
                raise ConfigError(f"[{s.section}] {key} takes a number, not {v!r}", **where) from None
        if not isinstance(v, int):
            raise ConfigError(f"[{s.section}] {key} takes a whole number, not {v!r}", **where)
        value: Any = v
    else:
        value = str(v)
    if action.choices is not None and value not in action.choices:
        raise ConfigError(f"[{s.section}] {key} takes one of {', '.join(map(str, action.choices))}, not {value!r}", **where)
    if isinstance(action, argparse._AppendAction):
        return [value]
    return value
