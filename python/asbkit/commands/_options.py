"""What the command modules share on the command line: option groups and reading their
values, the `Command` entry by which `cli.py` registers a command, and number formats of
the text output."""

from __future__ import annotations

import argparse
import base64
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AsbError
from ..files import Source
from ..layers import Layers
from ..result import CommandResult

if TYPE_CHECKING:
    from .convert import Selection


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


# Option groups.


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="backup file, directory of .asb files, or - for stdin")
    # asrestore's spellings, so existing scripts read the same.
    p.add_argument("-i", "--input-file", action="append", default=[], metavar="FILE", help="a backup file (- for stdin)")
    p.add_argument("-d", "--directory", action="append", default=[], metavar="DIR", help="a directory of .asb files")


def add_layer_options(p: argparse.ArgumentParser, *, writing: bool = False) -> None:
    """-z, -y and the key options; `writing` (a backup) words them for writing and adds
    --compression-level."""
    g = p.add_argument_group("layers (as asbackup/asrestore take them)")
    if writing:
        g.add_argument("-z", "--compress", choices=["zstd"], help="compress the files with zstd")
        g.add_argument("--compression-level", type=int, default=0, metavar="N", help="zstd level (0: default 3)")
        g.add_argument("-y", "--encrypt", choices=["aes128", "aes256"], help="encrypt the files")
        g.add_argument("--encryption-key-file", metavar="PEM", help="private key to derive the encryption key from")
    else:
        g.add_argument("-z", "--compress", choices=["zstd"], help="the files are zstd-compressed")
        g.add_argument("-y", "--encrypt", choices=["aes128", "aes256"], help="the files are encrypted")
        g.add_argument("--encryption-key-file", metavar="PEM", help="private key the backup was encrypted with")
    g.add_argument("--encryption-key-env", metavar="VAR", help="environment variable holding the base64 key")


def add_cluster_output_options(p: argparse.ArgumentParser, version: str) -> None:
    """-V and asbkit's own output flags of the commands that talk to a cluster."""
    p.add_argument("-V", "--version", action="version", version=version)
    g = p.add_argument_group("output of asbkit")
    g.add_argument("--output", choices=["text", "json"], default="text", help="result format (default text)")
    g.add_argument("--no-progress", action="store_true", help="no live display even on a terminal")
    g.add_argument("-v", "--verbose", action="store_true", help="more log lines")
    g.add_argument("--log-json", action="store_true", help="log lines as JSON objects (time, level, logger, message), one a line")


def open_machine_lines(args: argparse.Namespace) -> Any:
    """`-m/--machine PATH` opened, as a context that gives the MachineLines and closes them
    (it gives None without the flag)."""
    from contextlib import nullcontext

    from ..progress import MachineLines

    if not getattr(args, "machine", None):
        return nullcontext(None)
    try:
        return MachineLines(args.machine)
    except OSError as exc:
        raise OptionError(ValueError(f"-m/--machine {args.machine}: {exc.strerror or exc}")) from None


def say_tool_line(line: str, log: logging.Logger) -> None:
    """One of the C tools' closing lines, which scripts parse: a log line, in the C tools'
    form (or JSON with --log-json)."""
    log.info("%s", line)


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
        from datetime import datetime, timezone

        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
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


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", choices=["text", "json"], default="text", help="result format (default text)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")


def add_filter_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters (as asrestore takes them)")
    g.add_argument("-s", "--set", "--set-list", dest="sets", metavar="SETS", help="only these sets (comma-separated)")
    g.add_argument("-B", "--bin-list", dest="bins", metavar="BINS", help="only these bins (comma-separated)")
    g.add_argument("-n", "--namespace", metavar="OLD,NEW", help="rename namespace OLD to NEW")
    g.add_argument("-M", "--max-records", type=int, metavar="N", help="stop after N records")
    g.add_argument("--no-metadata", action="store_true", help="leave out indexes and UDFs")
    g.add_argument("--digest", action="append", metavar="B64", help="only the record with this digest (base64; repeatable)")
    g.add_argument("--key", action="append", metavar="T:VALUE", help="only the record with this user key: S:text, I:number or B:base64 (repeatable)")


# Their values.


def sources_from(args: argparse.Namespace) -> Source | list[Source]:
    """The inputs of add_input_arguments: one, or a list of several."""
    paths: list[Source] = args.paths + args.input_file + args.directory
    if not paths:
        raise UsageError(f"{args.command}: give a backup file, a directory or - for stdin")
    return paths if len(paths) > 1 else paths[0]


def layers_from(args: argparse.Namespace) -> Layers:
    try:
        return Layers(
            compress=args.compress,
            encrypt=args.encrypt,
            key_file=args.encryption_key_file,
            key_env=args.encryption_key_env,
            compression_level=getattr(args, "compression_level", 0),
        )
    except (AsbError, ValueError) as exc:
        raise OptionError(exc) from exc


def progress_from(args: argparse.Namespace) -> bool | None:
    """None: a progress bar when stderr is a terminal."""
    return False if args.no_progress else None


def selection_from(args: argparse.Namespace) -> Selection:
    """The values of add_filter_options (and convert's --keep-double-text)."""
    # Imported here: convert imports this module for its own flags.
    from .convert import Selection

    try:
        namespace = _namespace(args.namespace)
        digests = _digests(args.digest)
        keys = _keys(args.key)
    except ValueError as exc:  # binascii.Error is one
        raise OptionError(exc) from exc
    split = lambda v: [x for x in v.split(",") if x] if v else None  # noqa: E731
    return Selection(
        split(args.sets), split(args.bins), namespace, args.max_records, args.no_metadata, digests, keys,
        keep_double_text=getattr(args, "keep_double_text", False),
    )


def _namespace(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    parts = value.split(",")
    if len(parts) != 2 or not all(parts):
        raise ValueError("--namespace takes OLD,NEW")
    return (parts[0], parts[1])


def _digests(values: list[str] | None) -> list[bytes] | None:
    if not values:
        return None
    digests = [base64.b64decode(d, validate=True) for d in values]
    if any(len(d) != 20 for d in digests):
        raise ValueError("--digest takes the 28-character base64 of a 20-byte digest")
    return digests


def _keys(values: list[str] | None) -> list[tuple[str, object]] | None:
    if not values:
        return None
    keys: list[tuple[str, object]] = []
    for k in values:
        kind, sep, value = k.partition(":")
        if not sep or kind not in ("S", "I", "B"):
            raise ValueError(f"--key {k!r}: write S:text, I:number or B:base64")
        keys.append((kind, int(value) if kind == "I" else base64.b64decode(value) if kind == "B" else value))
    return keys


# Text output.


def comma_list(text: str | None) -> list[str]:
    """A comma-separated flag value as its non-empty items."""
    return [s for s in (text or "").split(",") if s]


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
