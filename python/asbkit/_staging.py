"""Output files written under a temporary name beside the target, renamed when complete."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def stage(dest: str | os.PathLike[str]) -> tuple[str, str | None]:
    """Where to write for `dest`, and the temporary name to rename onto it (or None).

    Only regular files (or names that do not exist yet) are staged: a device, FIFO or
    socket (`/dev/null`, a named pipe) is written in place, since renaming onto it would
    replace it. The staged file gets the mode the target has, or would get if created.
    """
    target = Path(dest)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        return str(target), None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        if existing is not None:
            mode = stat.S_IMODE(existing.st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return tmp, tmp
