from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "vectors"
SAMPLE = ROOT / "examples" / "sample.asb"


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
