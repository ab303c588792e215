"""Shared by validate and inspect: run the codec's scanner over every input file."""

from __future__ import annotations

import os
from typing import Any

from .. import _codec
from ..errors import AsbError
from ..files import Source, expand_sources
from ..layers import Layers
from ..progress import Progress, total_size


def run_scan(
    sources: Source | list[Source],
    layers: Layers,
    *,
    detail: bool,
    progress: bool | None = None,
    deep: bool = False,
    check_digests: bool = True,
    max_issues: int = 100,
    continue_after_errors: bool = False,
) -> tuple[dict[str, Any], list[AsbError | OSError]]:
    """Scans every file; stops at the first error, as asrestore --validate does, unless
    deep checks go on after syntax errors (they become findings)."""
    errors: list[AsbError | OSError] = []
    scanner = _codec.Scanner(
        detail, deep=deep, check_digests=check_digests, max_issues=max_issues,
        continue_after_errors=continue_after_errors,
    )
    try:
        files = expand_sources(sources)
        args = layers.codec_args()
    except (AsbError, OSError) as exc:
        return scanner.result(), [exc]
    bar = Progress(total_size(files), enabled=progress)
    parallel = all(isinstance(f, str) and f != "-" for f in files)
    try:
        if parallel:
            # Files, and pieces of big plain files, on every core; progress counts the
            # bytes of all of them.
            scanner.scan_parallel(files, threads=os.cpu_count() or 1, progress=bar.update, **args)
        else:
            for source in files:
                scanner.scan(source, progress=bar.update, **args)
                bar.file_done(total_size([source]) or 0)
    except (AsbError, OSError) as exc:
        errors.append(exc)
    finally:
        bar.close()
    return scanner.result(), errors
