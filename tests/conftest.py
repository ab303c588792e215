from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Callable, TypeVar, Union

import pytest

from asbkit import Layers, _codec

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "vectors"
SAMPLE = ROOT / "examples" / "sample.asb"

T = TypeVar("T")


def vector(rel: str) -> Path:
    path = SHARED / rel
    if not path.exists():
        raise FileNotFoundError(f"test vector {path} is missing: the repo expects ../shared beside it")
    return path


@pytest.fixture
def upstream_asb() -> Path:
    return vector("tools-backup/test/test_backup_file.asb")


@pytest.fixture
def bad_asb() -> Path:
    return vector("tools-backup/test/test_bad_backup_file.asb")


@pytest.fixture
def test_key() -> Path:
    return vector("tools-backup/test/test_key.pem")


def rewrite(source: Union[Path, str, IO[bytes]], layers: Layers | None = None) -> bytes:
    """Reads every entity of a backup and writes it back as plain text."""
    src = str(source) if isinstance(source, (Path, str)) else source
    reader = _codec.Reader(src, **(layers or Layers()).codec_args())
    out = io.BytesIO()
    writer = _codec.Writer(out, reader.header)
    for entity in reader:
        writer.write(entity)
    writer.close()
    return out.getvalue()


def write_into_fifo(fifo: Path, write: Callable[[str], T]) -> tuple[T, bytes]:
    """Makes a named pipe at `fifo`, runs `write(path)` while a thread reads the pipe, and
    returns what `write` returned and the bytes that came through."""
    import os
    import threading

    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = write(str(fifo))
    reader.join(timeout=30)
    assert received, "nothing read from the pipe"
    return result, received[0]
