"""Where `asbkit backup` writes, on disk: its directory or file, the state and manifest
paths beside them (asbackup's rules), and what is removed before, after and on request."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..errors import OutputExists
from .options import BackupOptions

log = logging.getLogger("asbkit.backup")


def writes_a_file(o: BackupOptions) -> bool:
    """Whether `-o` names a file (or a name not taken yet), not stdout, a pipe or a device:
    only a file can be cut back and continued, or have a manifest beside it."""
    if not o.output_file or o.output_file == "-":
        return False
    return not os.path.exists(o.output_file) or os.path.isfile(o.output_file)


def state_path(o: BackupOptions) -> str | None:
    """Where the state of an interrupted backup goes (asbackup's rule); None for stdout, a
    pipe or a device, which cannot be continued."""
    name = f"{o.output_file_prefix or o.namespace}.asb.state"
    if o.output_file and not writes_a_file(o):
        return None
    if o.state_file_dst:
        if os.path.isdir(o.state_file_dst):
            return os.path.join(o.state_file_dst, name)
        return o.state_file_dst
    if o.directory:
        return os.path.join(o.directory, name)
    if writes_a_file(o):
        return f"{o.output_file}.state"
    return None


def manifest_path(o: BackupOptions) -> str | None:
    """Beside the files: `<dir>/<prefix>.manifest.json` or `FILE.manifest.json` (none for
    stdout, a pipe or a device)."""
    if o.directory:
        return os.path.join(o.directory, f"{o.output_file_prefix or o.namespace}.manifest.json")
    if writes_a_file(o):
        return f"{o.output_file}.manifest.json"
    return None


def remove_artifacts(o: BackupOptions) -> list[str]:
    """--remove-artifacts: the backup's files and manifest (and its directory, if empty)."""
    removed = []
    if o.output_file and o.output_file != "-":
        for name in (o.output_file, o.output_file + ".manifest.json"):
            # Only regular files: a pipe or device (/dev/null) is never removed.
            if os.path.isfile(name):
                os.remove(name)
                removed.append(name)
    if o.directory and os.path.isdir(o.directory):
        for p in sorted(Path(o.directory).iterdir()):
            if p.name.endswith(".asb") or p.name.endswith(".manifest.json"):
                p.unlink()
                removed.append(str(p))
        if not any(Path(o.directory).iterdir()):
            os.rmdir(o.directory)
    return removed


def check_output_place(o: BackupOptions, resuming: bool) -> None:
    """Refuses to overwrite a backup without -r/--remove-files; changes nothing."""
    if resuming:
        return
    if o.directory:
        d = Path(o.directory)
        if d.exists() and not d.is_dir():
            raise OutputExists("-d/--directory names something that is not a directory", path=str(d))
        existing = _backup_files(d)
        if existing and not o.remove_files:
            raise OutputExists(
                f"the directory already holds {len(existing)} .asb file(s); "
                "pass -r/--remove-files to replace them, or -c/--continue to go on with a backup",
                path=str(d),
            )
    elif o.output_file and o.output_file != "-" and os.path.isfile(o.output_file) and not o.remove_files:
        # A pipe or device (/dev/null, a FIFO) is written in place; a file is replaced only
        # with -r.
        raise OutputExists("the output file exists; pass -r/--remove-files to replace it", path=o.output_file)


def prepare_output_place(o: BackupOptions, resuming: bool) -> None:
    """Makes the directory, and with -r/--remove-files removes the backup already there
    (once the cluster has answered: a backup that cannot start removes nothing)."""
    check_output_place(o, resuming)
    if o.directory:
        d = Path(o.directory)
        if not d.exists():
            log.info("Directory %s does not exist, creating", d)
            d.mkdir(mode=0o775, parents=True)
        if resuming:
            return
        for p in _backup_files(d):
            p.unlink()
        manifest = manifest_path(o)
        if manifest and os.path.exists(manifest):
            os.remove(manifest)
        log.info("Directory %s prepared for backup", d)
    elif o.output_file and o.output_file != "-" and not resuming and os.path.isfile(o.output_file):
        os.remove(o.output_file)


def _backup_files(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.name.endswith(".asb")) if d.is_dir() else []


def drop_uncommitted_files(o: BackupOptions, state: dict[str, Any]) -> None:
    """Files made after the last saved state hold records it does not count: remove them."""
    if not o.directory:
        return
    known = {os.path.abspath(f.name) for f in state["files"]}
    for p in Path(o.directory).iterdir():
        if p.name.endswith(".asb") and os.path.abspath(p) not in known:
            log.info("removing %s: written after the last saved state", p)
            p.unlink()
