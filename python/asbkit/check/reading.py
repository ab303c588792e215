"""Reads every entity of every input through the codec's scanner (counts, details, deep
checks): what validate, inspect and stats are made of."""

from __future__ import annotations

import os
from collections.abc import Callable

import asbkit._codec as _codec

from ..errors import AsbError
from ..io import places
from ..io.files import Source, expand_sources
from ..io.layers import Layers

#: Called now and then with the bytes of input read so far.
OnBytes = Callable[[int], None]


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
) -> tuple[_codec.ScanSummary, AsbError | OSError | None]:
    """The scanner's summary of every file, and the error that stopped it (None: it read to
    the end). It stops at the first error, as asrestore --validate does, unless deep checks
    go on after syntax errors (they become findings)."""
    deep_checks: _codec._DeepChecks = {
        "check_digests": check_digests, "continue_after_errors": continue_after_errors,
        "max_issues": max_issues, "memory_digests": _codec.DEFAULT_MEMORY_DIGESTS,
    }
    scanner = _codec.Scanner(detail, deep_checks if deep else None)
    try:
        files = expand_sources(sources)
        args = layers.codec_args()
    except (AsbError, OSError) as exc:
        return scanner.result(), exc
    done_before = 0

    def progress(current: int) -> None:
        if on_progress is not None:
            on_progress(done_before + current)

    try:
        if all(isinstance(f, str) and f != "-" for f in files):
            # Files, and pieces of big plain files, on every core; progress counts the
            # bytes of all of them.
            scanner.scan_paths([str(f) for f in files], threads=os.cpu_count() or 1, layers=args, piece_size=_codec.PIECE_SIZE, progress=progress)
        else:
            for source in files:
                scanner.scan(source, layers=args, progress=progress)
                if isinstance(source, (str, os.PathLike)) and str(source) != "-":
                    done_before += places.size(str(source)) or 0
    except (AsbError, OSError) as exc:
        return scanner.result(), exc
    return scanner.result(), None
