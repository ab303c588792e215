"""`asbkit validate`: parse everything, count, and locate the first error."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from ...check.validate import ValidateReport, validate
from ...errors import AsbError
from ...io.files import Source, expand_sources, total_size
from ...io.layers import Layers
from ..display import Progress
from ..envelope import CommandResult, outcome
from ..flags import (
    Command,
    FlagBuilder,
    add_input_arguments,
    add_output_options,
    layers_from,
    mib,
    plural,
    progress_from,
    sources_from,
)
from . import INDEX

HELP = INDEX["validate"][1]
R = TypeVar("R")
Sources = Source | list[Source]


def reading_arguments(p: argparse.ArgumentParser, command: str) -> None:
    """The flags of a command that reads backups: inputs, layers, output options."""
    add_input_arguments(p)
    FlagBuilder(p, command).declared(Layers)
    add_output_options(p)


def add_arguments(p: argparse.ArgumentParser) -> None:
    reading_arguments(p, "validate")
    p.add_argument("--deep", action="store_true", help="also recompute digests from set and key, check the namespace, find duplicate digests")
    p.add_argument("--max-errors", type=int, default=100, metavar="N", help="with --deep, go on after syntax errors and list up to N findings (default 100; 1 stops at the first error)")


def progress_bar(sources: object, enabled: bool | None) -> Progress:
    """A bar over the inputs' bytes (none for a stream)."""
    try:
        total = total_size(expand_sources(sources))  # type: ignore[arg-type]
    except (AsbError, OSError, ValueError):
        total = None
    return Progress(total, enabled=enabled)


def read_command(
    args: argparse.Namespace,
    command: str,
    call: Callable[[Sources, Layers, Callable[[int], None]], R],
    empty: Callable[[Layers], R],
    findings: Callable[[R], int] = lambda report: 0,
) -> CommandResult[R]:
    """A command that reads backups (validate, inspect, stats): its inputs and layers from
    the flags, a progress bar over their bytes, the library call's outcome."""
    layers, sources = layers_from(args, command), sources_from(args)
    return with_progress_bar(args, command, sources, lambda progress: call(sources, layers, progress), empty(layers), findings)


def with_progress_bar(
    args: argparse.Namespace,
    command: str,
    sources: object,
    call: Callable[[Callable[[int], None]], R],
    empty: R,
    findings: Callable[[R], int] = lambda report: 0,
) -> CommandResult[R]:
    """A library call's outcome as the command's result, with a progress bar over the
    inputs' bytes (`--no-progress`, or not a terminal: none) fed by its progress calls."""
    bar = progress_bar(sources, progress_from(args))
    try:
        return outcome(command, lambda: call(bar.update), empty, findings)
    finally:
        bar.close()


def run(args: argparse.Namespace) -> CommandResult[ValidateReport]:
    return read_command(
        args, "validate",
        lambda sources, layers, progress: validate(sources, layers, deep=args.deep, max_errors=args.max_errors, on_progress=progress),
        lambda layers: ValidateReport(layers.describe(), [], 0, 0, 0, 0, 0),
        findings=lambda r: r.findings,
    )


def render(result: CommandResult[ValidateReport]) -> str:
    r = result.data
    lines = [f"  {c.path}: {plural(c.records, 'record')}, {mib(c.text_bytes)}" for c in (r.files if len(r.files) > 1 else [])]
    summary = (
        f"{plural(len(r.files), 'file')}, {plural(r.records, 'record')}, "
        f"{plural(r.indexes, 'index')}".replace("indexs", "indexes")
        + f", {plural(r.udfs, 'UDF')}, {mib(r.text_bytes)} of text"
        + (f" ({mib(r.raw_bytes)} on disk, {r.layers})" if r.layers != "plain" else "")
    )
    d = r.deep
    if d is not None:
        lines.append(f"deep: {d.keys_checked:,} digests recomputed from their keys, duplicates checked")
        for m in d.manifests or []:
            lines.append(f"  checked against the manifest {m} (sizes, SHA-256, records, first and last digests)")
        lines += [f"  note: {n}" for n in d.notes]
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


COMMANDS = (Command("validate", HELP, add_arguments, run, render, description=HELP),)
