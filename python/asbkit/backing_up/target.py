"""Where `asbkit backup` writes, on disk or in object storage (`s3://bucket/prefix`): its
directory or file, the state and manifest paths beside them (asbackup's rules), and what is
removed before, after and on request."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import asbkit._codec as _codec

from ..errors import AsbError, OutputExists
from ..io import places
from .options import BackupOptions
from .state import unfinished_uploads

log = logging.getLogger("asbkit.backup")


def writes_a_file(o: BackupOptions) -> bool:
    """Whether `-o` names a file (or a name not taken yet), not stdout, a pipe or a device:
    only a file can be cut back and continued, or have a manifest beside it."""
    if not o.output_file or o.output_file == "-":
        return False
    if places.is_url(o.output_file):
        return True
    return not os.path.exists(o.output_file) or os.path.isfile(o.output_file)


def state_path(o: BackupOptions) -> str | None:
    """Where the state of an interrupted backup goes (asbackup's rule: stdout's is
    `<prefix or namespace>.asb.state` in the working directory); None for a pipe or device
    named by its path, which cannot be continued."""
    name = f"{o.output_file_prefix or o.namespace}.asb.state"
    if o.output_file and o.output_file != "-" and not writes_a_file(o):
        return None
    if o.state_file_dst:
        if places.is_url(o.state_file_dst) and o.state_file_dst.endswith("/") or not places.is_url(o.state_file_dst) and os.path.isdir(o.state_file_dst):
            return places.join(o.state_file_dst, name)
        return o.state_file_dst
    if o.directory:
        return places.join(o.directory, name)
    if o.output_file == "-":
        return name
    if writes_a_file(o):
        return f"{o.output_file}.state"
    return None


def manifest_path(o: BackupOptions) -> str | None:
    """Beside the files: `<dir>/<prefix>.manifest.json` or `FILE.manifest.json` (none for
    stdout, a pipe or a device)."""
    if o.directory:
        return places.join(o.directory, f"{o.output_file_prefix or o.namespace}.manifest.json")
    if writes_a_file(o):
        return f"{o.output_file}.manifest.json"
    return None


def remove_artifacts(o: BackupOptions) -> list[str]:
    """--remove-artifacts: the backup's files and manifest (and its directory, if empty)."""
    removed = []
    if places.is_url(o.output_file or o.directory):
        return _remove_remote_artifacts(o)
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
    if places.is_url(o.directory or o.output_file):
        _check_remote_place(o)
        return
    if o.directory:
        d = Path(o.directory)
        if d.exists() and not d.is_dir():
            raise OutputExists("-d/--directory names something that is not a directory", path=str(d))
        existing = _backup_files(d, o)
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
    if places.is_url(o.directory or o.output_file):
        if not resuming:
            _remove_remote_artifacts(o)
        return
    if o.directory:
        d = Path(o.directory)
        if not d.exists():
            log.info("Directory %s does not exist, creating", d)
            d.mkdir(mode=0o775, parents=True)
        if resuming:
            return
        for p in _backup_files(d, o):
            p.unlink()
        manifest = manifest_path(o)
        if manifest and os.path.exists(manifest):
            os.remove(manifest)
        log.info("Directory %s prepared for backup", d)
    elif o.output_file and o.output_file != "-" and not resuming and os.path.isfile(o.output_file):
        os.remove(o.output_file)


def is_own_file(name: str, o: BackupOptions) -> bool:
    """A `.asb` file of this backup: any in its directory, or in a shared one
    (`shared_directory`, the shards of one run) those named `<prefix>_NNNNN.asb`."""
    if not name.endswith(".asb"):
        return False
    if not o.shared_directory:
        return True
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return base.startswith(f"{o.output_file_prefix or o.namespace}_")


def _backup_files(d: Path, o: BackupOptions) -> list[Path]:
    return sorted(p for p in d.iterdir() if is_own_file(p.name, o)) if d.is_dir() else []


def drop_uncommitted_files(o: BackupOptions, state: dict[str, Any]) -> None:
    """Files made after the last saved state hold records it does not count: remove them."""
    if not o.directory:
        return
    if places.is_url(o.directory):
        known_urls = {f.name for f in state["files"]}
        for name in places.names_in(o.directory):
            if is_own_file(name, o) and name not in known_urls:
                log.info("removing %s: written after the last saved state", name)
                places.remove(name)
        return
    known = {os.path.abspath(f.name) for f in state["files"]}
    for p in Path(o.directory).iterdir():
        if is_own_file(p.name, o) and os.path.abspath(p) not in known:
            log.info("removing %s: written after the last saved state", p)
            p.unlink()


def _remote_backup_files(o: BackupOptions) -> list[str]:
    if o.directory:
        return [n for n in places.names_in(o.directory) if is_own_file(n, o)]
    assert o.output_file
    return [o.output_file] if places.exists(o.output_file) else []


def _check_remote_place(o: BackupOptions) -> None:
    """A prefix that holds a backup is refused without -r, as a non-empty directory is; a
    URL that names a bucket and nothing else is a prefix (the bucket's top)."""
    where = o.directory or o.output_file or ""
    if o.output_file and o.output_file.endswith("/"):
        raise OutputExists("-o/--output-file names a prefix (ends with /), not an object", path=o.output_file)
    existing = _remote_backup_files(o)
    if existing and not o.remove_files:
        what = f"the prefix already holds {len(existing)} .asb object(s)" if o.directory else "the output object exists"
        raise OutputExists(f"{what}; pass -r/--remove-files to replace them, or -c/--continue to go on with a backup", path=where)
    if o.directory:
        others = [n for n in places.names_in(o.directory) if not n.endswith((".asb", ".manifest.json", ".asb.state"))]
        if others:
            log.info("%s also holds %d object(s) that are not a backup's; they are left alone", where, len(others))


def _remove_remote_artifacts(o: BackupOptions) -> list[str]:
    """The backup's objects, manifest and state under the prefix (or the one object), and
    the unfinished uploads a saved state there lists (aborted, so no part is left billed)."""
    removed = []
    state = state_path(o)
    if state and places.exists(state):
        for url, token in unfinished_uploads(state):
            _codec.remote_abort(url, token)
            log.info("aborted the unfinished upload of %s", url)
    names = _remote_backup_files(o)
    manifest = manifest_path(o)
    for extra in (manifest, state):
        if extra and places.exists(extra):
            names.append(extra)
    for name in names:
        places.remove(name)
        removed.append(name)
    if removed:
        log.info("removed %d object(s) under %s", len(removed), o.directory or o.output_file)
    return removed


def check_remote_url(url: str, flag: str) -> None:
    """A URL names a bucket: `s3://BUCKET/...`."""
    rest = url[5:]
    if not rest or rest.startswith("/"):
        raise AsbError(f"{flag}: {url} names no bucket; write s3://BUCKET/PREFIX", path=url)
