from __future__ import annotations

import os
from pathlib import Path

import pytest

from asbkit import _codec

DATA = Path(__file__).resolve().parent / "data"
#: Fixed-mix synthetic corpus, MB of text (ASBKIT_BENCH_MB to change; keep the default to compare runs).
BENCH_MB = int(os.environ.get("ASBKIT_BENCH_MB", "100"))
KEY_MATERIAL = b"benchmark key material"


def _corpus(name: str, **layers: object) -> tuple[Path, int, int]:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"synthetic-{BENCH_MB}MB{name}.asb"
    meta = path.with_suffix(".counts")
    if not path.exists() or not meta.exists():
        records, text_bytes = _codec.write_synthetic(str(path), BENCH_MB * 1_000_000, **layers)
        meta.write_text(f"{records} {text_bytes}")
    records, text_bytes = map(int, meta.read_text().split())
    return path, records, text_bytes


@pytest.fixture(scope="session")
def corpus_plain() -> tuple[Path, int, int]:
    return _corpus("")


@pytest.fixture(scope="session")
def corpus_zstd() -> tuple[Path, int, int]:
    return _corpus(".zstd", zstd=True)


@pytest.fixture(scope="session")
def corpus_zstd_aes256() -> tuple[Path, int, int]:
    return _corpus(".zstd.aes256", zstd=True, cipher="aes256", key_material=KEY_MATERIAL)
