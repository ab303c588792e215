"""The `asbkit` command line: parses flags, calls a command, renders its result."""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .commands import convert as convert_cmd
from .commands import inspect as inspect_cmd
from .commands import filter_backup, split_backup
from .commands import stats as stats_cmd
from .commands import validate as validate_cmd
from .commands.convert import ConvertReport, Selection
from .commands.inspect import InspectReport
from .commands.filter import FilterReport
from .commands.stats import StatsReport
from .commands.validate import ValidateReport
from .errors import AsbError
from .layers import Layers
from .result import EXIT_USAGE, CommandResult, error_dict


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def add_layer_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("layers (as asbackup/asrestore take them)")
    g.add_argument("-z", "--compress", choices=["zstd"], help="the files are zstd-compressed")
    g.add_argument("-y", "--encrypt", choices=["aes128", "aes256"], help="the files are encrypted")
    g.add_argument("--encryption-key-file", metavar="PEM", help="private key the backup was encrypted with")
    g.add_argument("--encryption-key-env", metavar="VAR", help="environment variable holding the base64 key")


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", choices=["text", "json"], default="text", help="result format (default text)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")


def layers_from(args: argparse.Namespace) -> Layers:
    return Layers(
        compress=args.compress,
        encrypt=args.encrypt,
        key_file=args.encryption_key_file,
        key_env=args.encryption_key_env,
        compression_level=getattr(args, "compression_level", 0),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asbkit", description="Aerospike backup (.asb) toolkit."
    )
    parser.add_argument("-V", "--version", action="version", version=f"asbkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, help_text in (
        ("validate", "parse a backup completely; print counts or the first error, located"),
        ("inspect", "show what a backup holds: sets, bins, keys, TTLs, sizes, indexes, UDFs"),
        ("stats", "statistics: per set and bin, value sizes, TTLs by month, duplicate digests"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("paths", nargs="*", metavar="PATH", help="backup file, directory of .asb files, or - for stdin")
        # asrestore's spellings, so existing scripts read the same.
        p.add_argument("-i", "--input-file", action="append", default=[], metavar="FILE", help="a backup file (- for stdin)")
        p.add_argument("-d", "--directory", action="append", default=[], metavar="DIR", help="a directory of .asb files")
        add_layer_options(p)
        add_output_options(p)
        if name == "validate":
            p.add_argument("--deep", action="store_true", help="also recompute digests from set and key, check the namespace, find duplicate digests")
            p.add_argument("--max-errors", type=int, default=100, metavar="N", help="with --deep, go on after syntax errors and list up to N findings (default 100; 1 stops at the first error)")
    p = sub.add_parser(
        "convert",
        help="convert a backup to JSON Lines or back, losslessly",
        description="Convert .asb (file, directory or -) to JSON Lines, or JSON Lines back to .asb. "
        "The format follows the names' extensions (.asb, .jsonl); use --from/--to for - or other names. "
        "Layer options apply to the .asb side.",
    )
    p.add_argument("source", metavar="IN")
    p.add_argument("dest", metavar="OUT")
    p.add_argument("--from", dest="source_format", choices=["asb", "jsonl"])
    p.add_argument("--to", dest="dest_format", choices=["asb", "jsonl"])
    add_layer_options(p)
    p.add_argument("--compression-level", type=int, default=0, metavar="N", help="zstd level when writing .asb (0: default 3)")
    p.add_argument(
        "--keep-double-text", action="store_true",
        help="record doubles not written as C's %%.17g (Go writes shortest forms like 0.1) as they were, "
        "so converting back gives the same bytes (a few percent slower)",
    )
    add_filter_options(p)
    add_output_options(p)

    p = sub.add_parser("filter", help="copy a backup into one .asb file, keeping what the filters keep")
    p.add_argument("source", metavar="IN", help="backup file, directory of .asb files, or -")
    p.add_argument("dest", metavar="OUT", help=".asb file, or - for stdout")
    add_layer_options(p)
    p.add_argument("--compression-level", type=int, default=0, metavar="N")
    add_filter_options(p)
    add_output_options(p)

    p = sub.add_parser("split", help="split a backup into files that restore on their own")
    p.add_argument("source", metavar="IN", help="backup file, directory of .asb files, or -")
    p.add_argument("dest", metavar="DIR", help="directory for <prefix>_NNNNN.asb")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--parts", type=int, metavar="N", help="N files of about equal record count")
    g.add_argument("--records", type=int, metavar="N", help="N records per file")
    g.add_argument("--size", type=float, metavar="MiB", help="about this much text per file")
    p.add_argument("-q", "--output-file-prefix", dest="prefix", metavar="P", help="file name prefix (default: the namespace)")
    add_layer_options(p)
    p.add_argument("--compression-level", type=int, default=0, metavar="N")
    add_filter_options(p)
    add_output_options(p)
    return parser


def add_filter_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters (as asrestore takes them)")
    g.add_argument("-s", "--set", "--set-list", dest="sets", metavar="SETS", help="only these sets (comma-separated)")
    g.add_argument("-B", "--bin-list", dest="bins", metavar="BINS", help="only these bins (comma-separated)")
    g.add_argument("-n", "--namespace", metavar="OLD,NEW", help="rename namespace OLD to NEW")
    g.add_argument("-M", "--max-records", type=int, metavar="N", help="stop after N records")
    g.add_argument("--no-metadata", action="store_true", help="leave out indexes and UDFs")
    g.add_argument("--digest", action="append", metavar="B64", help="only the record with this digest (base64; repeatable)")
    g.add_argument("--key", action="append", metavar="T:VALUE", help="only the record with this user key: S:text, I:number or B:base64 (repeatable)")


def render_filter(result: CommandResult[FilterReport]) -> str:
    r = result.data
    if not result.ok:
        return ""
    skipped = f", {r.skipped:,} filtered out" if r.skipped else ""
    lines = [f"  {o}" for o in r.outputs] if len(r.outputs) > 1 else []
    lines.append(
        f"wrote {_plural(len(r.outputs), 'file')}: {_plural(r.records, 'record')}{skipped}, "
        f"{_plural(r.indexes, 'index')}, {_plural(r.udfs, 'UDF')}".replace("indexs", "indexes")
    )
    return "\n".join(lines)


def render_convert(result: CommandResult[ConvertReport]) -> str:
    r = result.data
    if not result.ok:
        return ""
    skipped = f", {r.skipped:,} filtered out" if r.skipped else ""
    return (
        f"converted {r.source} ({r.source_format}) to {r.dest} ({r.dest_format}): "
        f"{_plural(r.records, 'record')}{skipped}, {_plural(r.indexes, 'index')}, {_plural(r.udfs, 'UDF')}"
    ).replace("indexs", "indexes")


def render_stats(result: CommandResult[StatsReport]) -> str:
    r = result.data
    out = [f"{_plural(r.files, 'file')}, {_plural(r.records, 'record')}, {_mib(r.text_bytes)} of text ({r.layers})"]
    if r.sets:
        width = max(len(s.set or "(no set)") for s in r.sets)
        out += ["", f"  {'set':<{width}}  {'records':>12}  {'bytes':>14}  {'with key':>12}"]
        out += [f"  {s.set or '(no set)':<{width}}  {s.records:>12,}  {s.bytes:>14,}  {s.with_key:>12,}" for s in r.sets]
    if r.bins:
        width = max(max(len(b.name) for b in r.bins), 3)
        out += ["", f"  {'bin':<{width}}  {'count':>12}  {'size min/median/max':>24}  types"]
        for b in r.bins:
            types = ", ".join(f"{t} {n:,}" for t, n in sorted(b.types.items(), key=lambda kv: -kv[1]))
            sizes = f"{b.size_min:,}/{b.size_median:,}/{b.size_max:,}"
            out.append(f"  {b.name:<{width}}  {b.count:>12,}  {sizes:>24}  {types}")
    t = r.ttl
    out += ["", f"TTL: {t.never_expire:,} never expire, {t.expired_now:,} already expired"]
    out += [f"  {month}  {n:>12,}" for month, n in t.by_month.items()]
    if r.generation:
        out.append(f"Generation: {r.generation.min:,} to {r.generation.max:,}")
    out.append(f"Duplicate digests: {r.duplicate_digests:,}")
    out += [f"  {d}" for d in r.duplicates]
    return "\n".join(out)


def selection_from(args: argparse.Namespace) -> Selection:
    split = lambda v: [x for x in v.split(",") if x] if v else None  # noqa: E731
    namespace = None
    if args.namespace:
        parts = args.namespace.split(",")
        if len(parts) != 2 or not all(parts):
            raise ValueError("--namespace takes OLD,NEW")
        namespace = (parts[0], parts[1])
    digests = None
    if args.digest:
        digests = [base64.b64decode(d, validate=True) for d in args.digest]
        if any(len(d) != 20 for d in digests):
            raise ValueError("--digest takes the 28-character base64 of a 20-byte digest")
    keys = None
    if args.key:
        keys = []
        for k in args.key:
            kind, sep, value = k.partition(":")
            if not sep or kind not in ("S", "I", "B"):
                raise ValueError(f"--key {k!r}: write S:text, I:number or B:base64")
            keys.append((kind, int(value) if kind == "I" else base64.b64decode(value) if kind == "B" else value))
    return Selection(
        split(args.sets), split(args.bins), namespace, args.max_records, args.no_metadata, digests, keys,
        keep_double_text=getattr(args, "keep_double_text", False),
    )


def render_error(err: AsbError | OSError) -> str:
    if isinstance(err, AsbError):
        return f"error: {err}"
    d = error_dict(err)
    return f"error: {d['path'] + ': ' if d['path'] else ''}{d['message']}"


def render_validate(result: CommandResult[ValidateReport]) -> str:
    r = result.data
    lines = []
    for f in r.files if len(r.files) > 1 else []:
        lines.append(f"  {f.path}: {_plural(f.records, 'record')}, {_mib(f.text_bytes)}")
    summary = (
        f"{_plural(len(r.files), 'file')}, {_plural(r.records, 'record')}, "
        f"{_plural(r.indexes, 'index')}".replace("indexs", "indexes")
        + f", {_plural(r.udfs, 'UDF')}, {_mib(r.text_bytes)} of text"
        + (f" ({_mib(r.raw_bytes)} on disk, {r.layers})" if r.layers != "plain" else "")
    )
    d = r.deep
    if d is not None:
        lines.append(f"deep: {d.keys_checked:,} digests recomputed from their keys, duplicates checked")
        for kind, n in d.finding_counts.items():
            lines.append(f"  {n:,} {kind.replace('_', ' ')}")
        for f in d.findings:
            where = f.path + (f":{f.line}:{f.column} (byte {f.offset})" if f.line is not None else "")
            lines.append(f"  {where}: {f.message}")
    if result.errors:
        prefix = "read before the error: "
    else:
        prefix = "valid: " if result.ok else "parsed, with findings: "
    lines.append(prefix + summary)
    return "\n".join(lines)


def render_inspect(result: CommandResult[InspectReport]) -> str:
    r = result.data
    out: list[str] = []
    out.append(f"Files:        {len(r.files)} ({r.layers}, {_mib(r.raw_bytes)} on disk, {_mib(r.text_bytes)} of text)")
    out.append(f"Version:      {', '.join(r.versions) or '-'}")
    out.append(f"Namespace:    {', '.join(r.namespaces) or '-'}")
    out.append(f"First file:   {r.first_file or '-'}")
    keys = ", ".join(f"{n:,} {t}" for t, n in r.keys.items())
    out.append(f"Records:      {r.records:,}" + (f" (keys: {keys}; {r.records_without_key:,} without key)" if r.records else ""))
    if r.record_size:
        out.append(f"Record size:  {r.record_size.min:,} to {r.record_size.max:,} bytes of text")
    if r.generation:
        out.append(f"Generation:   {r.generation.min:,} to {r.generation.max:,}")
    e = r.expiry
    ttl = f"{e.never_expire:,} never expire"
    if e.expiring:
        ttl += f"; {e.expiring:,} expire between {e.earliest} and {e.latest}"
        if e.expired_now:
            ttl += f" ({e.expired_now:,} already expired: a restore skips them)"
    out.append(f"Expiration:   {ttl}")
    if r.sets:
        out.append("")
        width = max(len(s.set or "(no set)") for s in r.sets)
        out.append(f"  {'set':<{width}}  {'records':>12}  {'bytes':>14}  {'with key':>12}")
        for s in r.sets:
            out.append(f"  {s.set or '(no set)':<{width}}  {s.records:>12,}  {s.bytes:>14,}  {s.with_key:>12,}")
    if r.bins:
        out.append("")
        width = max(max(len(b.name) for b in r.bins), 3)
        out.append(f"  {'bin':<{width}}  {'count':>12}  types")
        for b in r.bins:
            types = ", ".join(f"{t} {n:,}" for t, n in sorted(b.types.items(), key=lambda kv: -kv[1]))
            out.append(f"  {b.name:<{width}}  {b.count:>12,}  {types}")
    out.append("")
    out.append(f"Indexes:      {len(r.indexes)}")
    for i in r.indexes:
        paths = ", ".join(f"{p} ({t})" for p, t in i.paths)
        where = f"{i.namespace}.{i.set}" if i.set else i.namespace
        out.append(f"  {i.name} on {where}: type {i.type}, {paths}" + (f", context {i.context}" if i.context else ""))
    out.append(f"UDFs:         {len(r.udfs)}")
    for u in r.udfs:
        out.append(f"  {u.name} ({u.bytes:,} bytes)")
    return "\n".join(out)


RENDERERS: dict[str, Any] = {
    "validate": render_validate,
    "inspect": render_inspect,
    "convert": render_convert,
    "stats": render_stats,
    "filter": render_filter,
    "split": render_filter,
}
COMMANDS: dict[str, Any] = {"validate": validate_cmd, "inspect": inspect_cmd, "stats": stats_cmd}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        layers = layers_from(args)
        selection = selection_from(args) if args.command in ("convert", "filter", "split") else None
    except (AsbError, ValueError, binascii.Error) as exc:
        if args.output == "json":
            result = CommandResult(args.command, None, [exc if isinstance(exc, AsbError) else AsbError(str(exc))])
            print(result.to_json())
            return result.exit_code if isinstance(exc, AsbError) else EXIT_USAGE
        print(f"asbkit {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    progress = False if args.no_progress else None
    if args.command == "filter":
        result = filter_backup(args.source, args.dest, layers, selection=selection, progress=progress)
    elif args.command == "split":
        result = split_backup(
            args.source, args.dest, layers,
            parts=args.parts, records=args.records, size_mb=args.size, prefix=args.prefix, selection=selection,
            progress=progress,
        )
    elif args.command == "convert":
        result = convert_cmd(
            args.source, args.dest, layers,
            source_format=args.source_format, dest_format=args.dest_format, selection=selection,
            progress=progress,
        )
    else:
        paths = args.paths + args.input_file + args.directory
        if not paths:
            parser.error(f"{args.command}: give a backup file, a directory or - for stdin")
        extra = {"deep": args.deep, "max_errors": args.max_errors} if args.command == "validate" else {}
        result = COMMANDS[args.command](paths if len(paths) > 1 else paths[0], layers, progress=progress, **extra)
    if any(isinstance(err, BrokenPipeError) for err in result.errors):
        # Whoever read our stdout stopped (`| head`): quiet, as cat is under SIGPIPE.
        return _stdout_closed()
    try:
        _render(args, result)
    except BrokenPipeError:
        return _stdout_closed()
    return result.exit_code


EXIT_SIGPIPE = 128 + 13


def _stdout_closed() -> int:
    # Python would complain again when it flushes stdout at exit.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_SIGPIPE


def _render(args: argparse.Namespace, result: CommandResult[Any]) -> None:
    if args.output == "json":
        print(result.to_json())
    else:
        text = RENDERERS[args.command](result)
        if text:
            # A converted stream on stdout must not be mixed with the summary.
            to_stdout = result.ok and not (args.command in ("convert", "filter") and args.dest == "-")
            print(text, file=sys.stdout if to_stdout else sys.stderr)
        for err in result.errors:
            print(render_error(err), file=sys.stderr)
