"""Reads every entity of every input through the codec's summarizer (counts, details, deep
checks): what validate, inspect and stats are made of."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import asbkit._codec as _codec

from ..errors import AsbError
from ..io import places
from ..io.files import Source, expand_sources
from ..io.layers import Layers
from .findings import b64

#: Called now and then with the bytes of input read so far.
OnBytes = Callable[[int], None]


@dataclass
class FileContents:
    """What one backup file holds, as validate and inspect read it: its header, counts and
    the base64 digests of its first and last record."""

    path: str
    version: str
    namespace: str | None
    first_file: bool
    records: int
    indexes: int
    udfs: int
    text_bytes: int
    first_digest: str | None = None
    last_digest: str | None = None

    @classmethod
    def of(cls, f: _codec.FileSummary) -> FileContents:
        return cls(
            f.path, f.version, f.namespace, f.first_file, f.records, f.indexes, f.udfs, f.text_bytes,
            b64(f.first_digest), b64(f.last_digest),
        )


def read_through(
    sources: Source | list[Source],
    layers: Layers,
    *,
    detail: bool,
    deep: bool = False,
    check_digests: bool = True,
    max_issues: int = 100,
    continue_after_errors: bool = False,
    on_progress: OnBytes | None = None,
) -> tuple[_codec.BackupSummary, AsbError | OSError | None]:
    """The summarizer's summary of every file, and the error that stopped it (None: it read to
    the end). It stops at the first error, as asrestore --validate does, unless deep checks
    go on after syntax errors (they become findings)."""
    deep_checks: _codec._DeepChecks = {
        "check_digests": check_digests, "continue_after_errors": continue_after_errors,
        "max_issues": max_issues, "memory_digests": _codec.DEFAULT_MEMORY_DIGESTS,
    }
    summarizer = _codec.Summarizer(detail, deep_checks if deep else None)
    try:
        files = expand_sources(sources)
        args = layers.codec_args()
    except (AsbError, OSError) as exc:
        return summarizer.result(), exc
    done_before = 0

    def progress(current: int) -> None:
        if on_progress is not None:
            on_progress(done_before + current)

    try:
        if all(isinstance(f, str) and f != "-" for f in files):
            # Files, and pieces of big plain files, on every core; progress counts the
            # bytes of all of them.
            summarizer.read_paths([str(f) for f in files], threads=os.cpu_count() or 1, layers=args, piece_size=_codec.PIECE_SIZE, progress=progress)
        else:
            for source in files:
                summarizer.read(source, layers=args, progress=progress)
                if isinstance(source, (str, os.PathLike)) and str(source) != "-":
                    done_before += places.size(str(source)) or 0
    except (AsbError, OSError) as exc:
        return summarizer.result(), exc
    return summarizer.result(), None
