"""The `asbkit` command line: registers the commands' parsers and dispatches to them.

Each module in `asbkit.cli.commands` declares its commands (`COMMANDS`: flags, how to run
from them, how the result reads as text); this module builds the parser from them, runs
the one asked for and prints its result, as text or as the JSON envelope.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import AsbError, BadOption
from ..version import __version__
from .commands import INDEX
from .envelope import EXIT_INVALID, EXIT_USAGE, CommandResult, error_dict
from .flags import Command, OptionError, UsageError, log_error


def load_command(name: str) -> Command:
    """The command `name` (its module imported now)."""
    module, _ = INDEX[name]
    found: Command = next(c for c in importlib.import_module(f"{__package__}.commands.{module}").COMMANDS if c.name == name)
    return found


def commands() -> dict[str, Command]:
    """Every command by name, in the order of INDEX."""
    return {name: load_command(name) for name in INDEX}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, the flags of that command alone (the others
    are listed by name and help, their modules not imported)."""
    parser = argparse.ArgumentParser(
        prog="asbkit", description="Aerospike backup (.asb) toolkit."
    )
    parser.add_argument("-V", "--version", action="version", version=f"asbkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    by_name = {}
    for name, (_, help_text) in INDEX.items():
        if only is None or name == only:
            by_name[name] = load_command(name).add_parser(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    parser.set_defaults(_subparsers=by_name)
    return parser


def with_config(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str], command: Command) -> argparse.Namespace:
    """The command line again over the configuration files' values (the line wins), with
    secret-agent references resolved."""
    from .config import apply_settings, config_flags, read_settings
    from .secret_agent import resolve_secrets

    settings = read_settings(config_flags(argv), command.config_sections)
    if settings:
        apply_settings(args._subparsers[command.name], settings, command.config_sections[-1], command.name)
        args = parser.parse_args(argv)
    resolve_secrets(args)
    return args


def error_text(err: AsbError | OSError) -> str:
    if isinstance(err, AsbError):
        return str(err)
    d = error_dict(err)
    return f"{d['path'] + ': ' if d['path'] else ''}{d['message']}"


def render_error(err: AsbError | OSError) -> str:
    return f"error: {error_text(err)}"


def join_stdin_sizes(argv: list[str]) -> list[str]:
    """asrestore's `-i -:BYTES` (stdin with its size): argparse would take `-:BYTES` for a
    flag, so it is joined to its option."""
    out: list[str] = []
    for tok in argv:
        if out and out[-1] in ("-i", "--input-file") and tok.startswith("-:"):
            out[-1] = f"{out[-1]}={tok}" if out[-1].startswith("--") else out[-1] + tok
        else:
            out.append(tok)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = join_stdin_sizes(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser(only=argv[0] if argv and argv[0] in INDEX else None)
    args = parser.parse_args(argv)
    command = load_command(args.command)
    if command.config_sections:
        from .secret_agent import SecretError

        try:
            args = with_config(parser, args, argv, command)
        except SecretError as exc:
            if command.errors_as_log_lines:
                log_error(command.name, str(exc))
            else:
                print(f"asbkit {args.command}: {exc}", file=sys.stderr)
            return EXIT_INVALID
        except AsbError as exc:
            return _option_error(args, command, exc)
    try:
        result = command.run(args)
    except OptionError as exc:
        return _option_error(args, command, exc.cause)
    except UsageError as exc:
        parser.error(str(exc))
    if any(isinstance(err, BrokenPipeError) for err in result.errors):
        # Whoever read our stdout stopped (`| head`): quiet, as cat is under SIGPIPE.
        return _stdout_closed()
    try:
        _render(args, command, result)
    except BrokenPipeError:
        return _stdout_closed()
    return result.exit_code


def _option_error(args: argparse.Namespace, command: Command, exc: AsbError | ValueError) -> int:
    if getattr(args, "output", "text") == "json":
        result = CommandResult(args.command, None, [exc if isinstance(exc, AsbError) else BadOption(str(exc))])
        print(result.to_json())
        return result.exit_code if isinstance(exc, AsbError) else EXIT_USAGE
    if command.errors_as_log_lines:
        log_error(command.name, str(exc))
    else:
        print(f"asbkit {args.command}: {exc}", file=sys.stderr)
    return EXIT_USAGE


EXIT_SIGPIPE = 128 + 13


def _stdout_closed() -> int:
    # Python would complain again when it flushes stdout at exit.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_SIGPIPE


def _render(args: argparse.Namespace, command: Command, result: CommandResult[Any]) -> None:
    if getattr(args, "output", "text") == "json":
        print(result.to_json())
    else:
        text = command.render(result)
        if text and command.errors_as_log_lines:
            # stderr holds only log lines in the C tools' form; with the backup itself on
            # stdout, those lines say it all.
            if not command.data_on_stdout(args):
                print(text)
        elif text:
            # A converted stream on stdout must not be mixed with the summary.
            to_stdout = result.ok and not command.data_on_stdout(args)
            print(text, file=sys.stdout if to_stdout else sys.stderr)
        for err in result.errors:
            if command.errors_as_log_lines:
                log_error(command.name, error_text(err))
            else:
                print(render_error(err), file=sys.stderr)
