"""The command line's --dask flags, refused or said in words before any work (no
scheduler runs here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_dask_options_a_backup_cannot_take_are_refused_before_connecting(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "asbkit", "backup", "-n", "test", "-o", str(tmp_path / "one.asb"), "--dask", "tcp://127.0.0.1:9", "--no-progress"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode != 0
    assert "the shards cannot share one -o file" in out.stderr
    assert "does not answer" not in out.stderr


def test_an_unreachable_scheduler_is_said_in_words(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    proc = subprocess.run(
        [sys.executable, "-m", "asbkit", "backup", "-n", "test", "-d", str(tmp_path / "bk"), "--dask", "tcp://127.0.0.1:9", "--no-progress"],
        capture_output=True, timeout=60,
    )
    assert proc.returncode == 1
    assert b"the Dask scheduler at tcp://127.0.0.1:9 does not answer" in proc.stderr
    assert not (tmp_path / "bk").exists()
