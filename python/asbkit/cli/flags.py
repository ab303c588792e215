"""What the command modules share on the command line: the `Command` entry by which
`asbkit.cli.main` registers a command, the builder that turns the library's declared
options (`asbkit.spec`) into argparse flags and back into options objects, the flags of
the CLI itself, the log set-up, and number formats of the text output."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, TypeVar

from ..errors import AsbError
from ..io import s3
from ..io.files import Source
from ..io.layers import Layers
from ..io.s3 import S3Options
from ..spec import UNSET, Flag, Nested, declared, field_default, pick
from ..transform.selection import Selection
from .envelope import CommandResult


class UsageError(Exception):
    """The command line lacks something: `main()` reports it as argparse reports its own
    errors (usage line, `asbkit: error: ...`, exit 2)."""


class OptionError(Exception):
    """A flag's value cannot be used (layers, filters): `main()` reports the cause as
    `asbkit COMMAND: ...` and exits 2; with `--output json` the cause is the envelope's
    error, and an AsbError cause gives its exit code (3 for a key)."""

    def __init__(self, cause: AsbError | ValueError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _never(args: argparse.Namespace) -> bool:
    return False


@dataclass(frozen=True)
class Command:
    """One subcommand: its flags, how it runs from parsed flags, how its result reads."""

    name: str
    help: str
    #: Adds the command's flags to its parser.
    add_arguments: Callable[[argparse.ArgumentParser], None]
    #: Runs the command from parsed flags; raises OptionError or UsageError for flags it
    #: cannot use.
    run: Callable[[argparse.Namespace], CommandResult[Any]]
    #: The result as text ("" for none).
    render: Callable[[CommandResult[Any]], str]
    description: str | None = None
    #: The flags that show the command's help. A command that takes `-h` for something
    #: else (asbackup's host) names others, e.g. ("--help", "-Z", "--usage").
    help_flags: tuple[str, ...] = ("-h", "--help")
    #: True when the command writes its data to stdout (an output of `-`): the text
    #: summary then goes to stderr, not into the stream.
    data_on_stdout: Callable[[argparse.Namespace], bool] = _never
    #: The astools.conf sections whose keys are this command's defaults, in the order they
    #: are read (later wins); none: the command reads no configuration file.
    config_sections: tuple[str, ...] = ()
    #: Its errors are log lines in the C tools' form (`... [ERR] [ 4242] ...`), as the C
    #: tools whose flags it takes print theirs.
    errors_as_log_lines: bool = False

    def add_parser(self, subparsers: Any) -> argparse.ArgumentParser:
        default_help = self.help_flags == ("-h", "--help")
        parser: argparse.ArgumentParser = subparsers.add_parser(
            self.name, help=self.help, description=self.description, add_help=default_help
        )
        if not default_help:
            parser.add_argument(*self.help_flags, action="help", help="show this help message and exit")
        self.add_arguments(parser)
        return parser


# ---------------------------------------------------------------- declared options


class _OptionalValue(argparse.Action):
    """`-P` alone gives "" (asked for later); `-P pw` / `--password=pw` gives it."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values if values is not None else "")


@dataclass(frozen=True)
class Extra:
    """A flag of the CLI alone (its own, or one kept for the C tools' scripts), in a help
    section after the declared field `after` (None: where it is added)."""

    names: tuple[str, ...]
    kwargs: dict[str, Any]
    group: str | None
    after: str | None = None


def extra(*names: str, group: str | None, after: str | None = None, **kwargs: Any) -> Extra:
    return Extra(tuple(names), kwargs, group, after)


@dataclass(frozen=True)
class FieldsOf:
    """Declared fields of another class, added after the field `after` (to keep a help
    section's order, as the C tools' help has it)."""

    cls: type
    names: tuple[str, ...]
    after: str | None = None


def fields_of(cls: type, *names: str, after: str | None = None) -> FieldsOf:
    return FieldsOf(cls, names, after)


@dataclass
class FlagBuilder:
    """Adds declared options and the CLI's own flags to one command's parser, in the order
    given (which is the order of `--help` and its usage line), in help sections made in
    the order they are first met. A declared field is added once."""

    parser: argparse.ArgumentParser
    command: str
    groups: dict[str, Any] = field(default_factory=dict)
    added: set[str] = field(default_factory=set)

    def section(self, title: str | None) -> Any:
        if title is None:
            return self.parser
        if title not in self.groups:
            self.groups[title] = self.parser.add_argument_group(title)
        return self.groups[title]

    def add(self, *extras: Extra | FieldsOf) -> None:
        for e in extras:
            if isinstance(e, FieldsOf):
                self.declared(e.cls, only=e.names)
            else:
                self.section(e.group).add_argument(*e.names, **e.kwargs)

    def declared(self, cls: type, extras: Iterable[Extra | FieldsOf] = (), prefix: str = "", only: Iterable[str] | None = None) -> FlagBuilder:
        """The flags of `cls` (and of its nested classes) that this command has and that
        are not added yet (`only`: these fields, in this order); each of `extras` after the
        field it names, or at the end."""
        anchored: dict[str | None, list[Extra | FieldsOf]] = {}
        for e in extras:
            anchored.setdefault(e.after, []).append(e)
        fields = list(declared(cls))
        if only is not None:
            by_name = {f.name: (f, spec) for f, spec in fields}
            fields = [by_name[name] for name in only]
        for f, spec in fields:
            if isinstance(spec, Nested):
                self.declared(spec.cls, prefix=prefix + spec.prefix)
            elif spec.has(self.command) and prefix + f.name not in self.added:
                self.added.add(prefix + f.name)
                self._add_flag(prefix + f.name, spec, field_default(f))
            self.add(*anchored.pop(f.name, []))
        for rest in anchored.values():
            self.add(*rest)
        return self

    def _add_flag(self, dest: str, spec: Flag, default: Any) -> None:
        kwargs: dict[str, Any] = {"dest": dest, "help": pick(spec.help, self.command)}
        if spec.metavar:
            kwargs["metavar"] = spec.metavar
        if spec.flag_default is not UNSET:
            kwargs["default"] = pick(spec.flag_default, self.command)
        elif isinstance(default, (int, float, str)) and not isinstance(default, bool):
            kwargs["default"] = default
        if spec.kind == "switch":
            kwargs["action"] = "store_true"
            kwargs.pop("default", None)
        elif spec.kind == "optional":
            kwargs.update(nargs="?", action=_OptionalValue)
        elif spec.kind == "append":
            kwargs["action"] = "append"
        if spec.type is not None:
            kwargs["type"] = spec.type
        if spec.choices is not None:
            kwargs["choices"] = list(spec.choices)
        self.section(pick(spec.group, self.command)).add_argument(*pick(spec.names, self.command), **kwargs)


T = TypeVar("T")


def build(cls: type[T], args: argparse.Namespace, command: str, prefix: str = "", **given: Any) -> T:
    """`cls` from the parsed flags of its declared options (`given`: values set by the
    command itself). A value a flag's conversion refuses raises ValueError in its words."""
    values: dict[str, Any] = dict(given)
    for f, spec in declared(cls):
        if f.name in values:
            continue
        if isinstance(spec, Nested):
            values[f.name] = build(spec.cls, args, command, prefix + spec.prefix)
        elif spec.has(command):
            raw = getattr(args, prefix + f.name, None)
            if raw is not None:
                values[f.name] = spec.convert(raw) if spec.convert is not None else raw
    return cls(**values)


def layers_from(args: argparse.Namespace, command: str) -> Layers:
    try:
        return build(Layers, args, command)
    except (AsbError, ValueError) as exc:
        raise OptionError(exc) from exc


def selection_from(args: argparse.Namespace, command: str) -> Selection:
    try:
        return build(Selection, args, command)
    except ValueError as exc:  # binascii.Error is one
        raise OptionError(exc) from exc


# ---------------------------------------------------------------- the CLI's own flags


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="backup file, directory of .asb files, or - for stdin")
    # asrestore's spellings, so existing scripts read the same.
    p.add_argument("-i", "--input-file", action="append", default=[], metavar="FILE", help="a backup file (- for stdin)")
    p.add_argument("-d", "--directory", action="append", default=[], metavar="DIR", help="a directory of .asb files")
    add_s3_options(p)


def add_s3_options(p: argparse.ArgumentParser) -> None:
    """The S3 flags of a command whose files may be `s3://` URLs."""
    FlagBuilder(p, "files").declared(S3Options)


def set_up_store(args: argparse.Namespace, *paths: object) -> None:
    """The process's S3 store from the flags, when one of `paths` is an `s3://` URL."""
    if any(s3.is_url(p) for p in paths):
        try:
            s3.configure(build(S3Options, args, args.command))
        except (AsbError, ValueError) as exc:
            raise OptionError(exc) from None


def add_cluster_output_options(p: argparse.ArgumentParser, version: str) -> None:
    """-V and asbkit's own output flags of the commands that talk to a cluster."""
    p.add_argument("-V", "--version", action="version", version=version)
    g = p.add_argument_group("output of asbkit")
    g.add_argument("--output", choices=["text", "json"], default="text", help="result format (default text)")
    g.add_argument("--no-progress", action="store_true", help="no live display even on a terminal")
    g.add_argument("-v", "--verbose", action="store_true", help="more log lines")
    g.add_argument("--log-json", action="store_true", help="log lines as JSON objects (time, level, logger, message), one a line")


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", choices=["text", "json"], default="text", help="result format (default text)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")


def open_machine_lines(args: argparse.Namespace) -> Any:
    """`-m/--machine PATH` opened, as a context that gives the MachineLines and closes them
    (it gives None without the flag)."""
    from contextlib import nullcontext

    from .display import MachineLines

    if not getattr(args, "machine", None):
        return nullcontext(None)
    try:
        return MachineLines(args.machine)
    except OSError as exc:
        raise OptionError(ValueError(f"-m/--machine {args.machine}: {exc.strerror or exc}")) from None


def sources_from(args: argparse.Namespace) -> Source | list[Source]:
    """The inputs of add_input_arguments: one, or a list of several."""
    paths: list[Source] = args.paths + args.input_file + args.directory
    if not paths:
        raise UsageError(f"{args.command}: give a backup file, a directory or - for stdin")
    set_up_store(args, *paths)
    return paths if len(paths) > 1 else paths[0]


def progress_from(args: argparse.Namespace) -> bool | None:
    """None: a progress bar when stderr is a terminal."""
    return False if args.no_progress else None


# ---------------------------------------------------------------- log lines


class CToolsLogFormatter(logging.Formatter):
    """The C tools' log line (`log_line` in their `src/utils.c`), which operators' scripts
    and monitoring parse: `2026-12-03 18:25:45 GMT [INF] [ 4242] message`, the time in GMT,
    the level as they name it (`VER` for -v, `INF`, `ERR`; they have no warning level and
    say `INF` with "Warning: "), the thread id in five columns."""

    def format(self, record: logging.LogRecord) -> str:
        import threading
        import time

        when = time.strftime("%Y-%m-%d %H:%M:%S GMT", time.gmtime(record.created))
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            level = "ERR"
        elif record.levelno >= logging.WARNING:
            level, message = "INF", f"Warning: {message}"
        elif record.levelno >= logging.INFO:
            level = "INF"
        else:
            level = "VER"
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        # Formatted in the thread that logs (StreamHandler), as the C tools print theirs.
        return f"{when} [{level}] [{threading.get_native_id() % 100_000:5d}] {message}"


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        import json
        from datetime import datetime

        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_log_handler: logging.Handler | None = None


def log_error(command: str, message: str) -> None:
    """An error as a log line of the command (configuring the log if the command has not)."""
    if _log_handler is None:
        configure_logging(False)
    logging.getLogger(f"asbkit.{command}").error("%s", message)


def configure_logging(verbose: bool, level: int = logging.INFO, log_json: bool = False) -> None:
    """asbkit's log lines on stderr in the C tools' form (or as JSON objects); one handler
    on the `asbkit` logger, replaced by the next call."""
    global _log_handler
    logger = logging.getLogger("asbkit")
    if _log_handler is not None:
        logger.removeHandler(_log_handler)
    _log_handler = logging.StreamHandler(sys.stderr)
    _log_handler.setFormatter(JsonLogFormatter() if log_json else CToolsLogFormatter())
    logger.addHandler(_log_handler)
    logger.setLevel(logging.DEBUG if verbose else level)


# ---------------------------------------------------------------- text output


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
