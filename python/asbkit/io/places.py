"""Where backups live: a local path, or an object store URL (`s3://bucket/prefix`), seen
through the few operations the library does itself around the codec (listing a directory,
the state and manifest, removals). A URL's "directory" is its key prefix followed by `/`.

Small objects only (a state, a manifest): backup files go through the codec, whose bytes
never pass through Python.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

import asbkit._codec as _codec

from . import s3

is_url = s3.is_url


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(path.parent or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def join(directory: str, name: str) -> str:
    if is_url(directory):
        return directory.rstrip("/") + "/" + name
    return os.path.join(directory, name)


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/")) if is_url(path) else os.path.basename(path)


def parent(path: str) -> str:
    if is_url(path):
        return path.rsplit("/", 1)[0]
    return os.path.dirname(path)


def names_in(directory: str) -> list[str]:
    """The full names (paths or URLs) of the files directly in a directory, sorted; [] for
    none or no such directory."""
    if is_url(directory):
        s3.ensure(directory)
        return [url for url, _ in _codec.remote_list(directory.rstrip("/") + "/")]
    d = Path(directory)
    return sorted(str(p) for p in d.iterdir()) if d.is_dir() else []


def is_dir(path: str) -> bool:
    """A local directory; a URL that ends with `/`, or names no object but a prefix that
    holds some."""
    if is_url(path):
        return path.endswith("/") or size(path) is None and bool(names_in(path))
    return os.path.isdir(path)


def exists(path: str) -> bool:
    return size(path) is not None if is_url(path) else os.path.exists(path)


def size(path: str) -> int | None:
    """The size of a file or object; None when there is none."""
    if is_url(path):
        s3.ensure(path)
        if path.endswith("/"):
            return None
        return _codec.remote_size(path)
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def read_text(path: str) -> str:
    """A small file's text; FileNotFoundError when there is none."""
    if is_url(path):
        s3.ensure(path)
        data = _codec.remote_get(path)
        if data is None:
            raise FileNotFoundError(2, "no such object", path)
        return data.decode("utf-8")
    with open(path, encoding="utf-8") as f:
        return f.read()


def write_text(path: str, text: str) -> None:
    """Replaces a small file whole or not at all (an object PUT is atomic; a local file is
    written beside and renamed)."""
    if is_url(path):
        s3.ensure(path)
        _codec.remote_put(path, text.encode("utf-8"))
    else:
        write_atomically(path, text)


def remove(path: str) -> None:
    """Removes a file or object (none there is fine)."""
    if is_url(path):
        s3.ensure(path)
        _codec.remote_delete(path)
    elif os.path.isfile(path):
        os.remove(path)


def sha256(path: str) -> str:
    """The SHA-256 of a file or object, hex, read in Rust."""
    s3.ensure(path)
    return bytes(_codec.file_sha256(path)).hex()
