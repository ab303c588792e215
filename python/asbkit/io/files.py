"""Reading and writing backups: files, directories of `*.asb` files, stdin/stdout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import asbkit._codec as _codec

from .._codec import Header, Record, SecondaryIndex, Udf
from ..errors import BadInput, InputUnreadable
from . import places, s3
from .layers import Layers

Entity = Record | SecondaryIndex | Udf
Source = str | os.PathLike[str] | IO[bytes]


def backup_files(directory: str, hint: str | None = None) -> list[str]:
    """The `*.asb` files of a directory, or of an `s3://` prefix, sorted by name.
    InputUnreadable when it cannot be listed; BadInput when it holds none (`hint`, said
    in parentheses, tells what to check)."""
    remote = places.is_url(directory)
    if remote:
        directory = s3.normalize(directory)
        s3.ensure(directory)
    where = "prefix" if remote else "directory"
    try:
        found = [str(f) for f in _codec.list_backup_files(directory)]
    except OSError as exc:
        raise InputUnreadable(f"cannot list the {where}: {exc.strerror or exc}", path=directory) from exc
    if not found:
        raise BadInput(f"the {where} holds no .asb {'objects' if remote else 'files'}" + (f" ({hint})" if hint else ""), path=directory)
    return found


def expand_sources(sources: Source | list[Source]) -> list[Source]:
    """Files as given, directories as their `*.asb` files (sorted), `-` as stdin."""
    items = sources if isinstance(sources, list) else [sources]
    out: list[Source] = []
    for item in items:
        if places.is_url(item):
            url = s3.normalize(str(item))
            s3.ensure(url)
            out.extend(backup_files(url, "a file's URL names the object itself") if places.is_dir(url) else [url])
        elif isinstance(item, (str, os.PathLike)) and str(item) != "-" and Path(item).is_dir():
            out.extend(backup_files(str(item)))
        elif isinstance(item, (str, os.PathLike)):
            out.append(str(item))
        else:
            out.append(item)
    return out


def write_synthetic(path: str | os.PathLike[str], target_bytes: int, *, seed: int = 1, layers: Layers | None = None) -> tuple[int, int]:
    """A synthetic backup of at least `target_bytes` of text (a fixed mix of every type,
    for tests and benchmarks), through `layers`; (records, text bytes)."""
    layers = layers or Layers()
    return _codec.write_synthetic(str(path), target_bytes, seed=seed, layers=layers.codec_args())


def total_size(sources: list[Source]) -> int | None:
    """Bytes of all the files, or None when one is a stream or cannot be sized."""
    total = 0
    for s in sources:
        if not isinstance(s, (str, os.PathLike)) or str(s) == "-":
            return None
        size = places.size(str(s))
        if size is None:
            return None
        total += size
    return total


class BackupReader:
    """Iterates the entities (indexes, UDFs, records) of one or more backup files.

    `header` is the header of the file being read; `path` its name.
    """

    def __init__(self, sources: Source | list[Source], layers: Layers | None = None) -> None:
        self._sources = expand_sources(sources)
        self._args = (layers or Layers()).codec_args()
        self.header: Header | None = None
        self.path: str | None = None

    def files(self) -> Iterator[_codec.Reader]:
        """One codec reader per file, opened in turn."""
        for source in self._sources:
            reader = _codec.Reader(source, layers=self._args)
            self.header = reader.header
            self.path = source if isinstance(source, str) else getattr(source, "name", None)
            yield reader

    def __iter__(self) -> Iterator[Entity]:
        for reader in self.files():
            yield from reader


def read_backup(sources: Source | list[Source], layers: Layers | None = None) -> BackupReader:
    return BackupReader(sources, layers)


class BackupWriter:
    """Writes one backup file in C asbackup's exact form: its header from `namespace` and
    `first_file`, or given whole as `header` (as a reader found it).

    A path is written under a temporary name and renamed when closed without error, so a
    failed write never leaves a file that looks complete; an `s3://` URL is a multipart
    upload completed when closed. `-` writes to stdout.
    """

    def __init__(
        self,
        dest: str | os.PathLike[str] | IO[bytes],
        namespace: str | None = None,
        *,
        first_file: bool = True,
        layers: Layers | None = None,
        header: Header | None = None,
    ) -> None:
        layers = layers or Layers()
        self._final: Path | None = None
        target: str | os.PathLike[str] | IO[bytes] = dest
        self._tmp: Path | None = None
        self._remote = places.is_url(dest)
        if self._remote:
            dest = s3.normalize(str(dest))
            s3.ensure(dest)  # an upload, completed (the object appears) only by close()
        elif isinstance(dest, (str, os.PathLike)) and str(dest) != "-":
            target, tmp = _codec.stage_output(dest)
            if tmp is not None:
                self._final, self._tmp = Path(dest), Path(tmp)
        elif isinstance(dest, (str, os.PathLike)):
            target = "-"
        if header is None and namespace is None:
            raise TypeError("BackupWriter needs a namespace or a header")
        header = header or Header(namespace, first_file)
        self._writer = _codec.Writer(target, header, layers=layers.codec_args())

    def write(self, entity: Entity) -> None:
        self._writer.write(entity)

    @property
    def text_bytes(self) -> int:
        return self._writer.text_bytes

    def close(self) -> None:
        self._writer.close()
        if self._final is not None and self._tmp is not None:
            os.replace(self._tmp, self._final)

    def abort(self) -> None:
        """Drops a partly written file (an object's upload is aborted)."""
        if self._remote:
            self._writer.abort()
            return
        try:
            self._writer.close()
        finally:
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> BackupWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
