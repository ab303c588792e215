"""The Rust wire crate's own tests against the server (asb-wire/tests/live_*.rs): ignored
by a plain `cargo test`, run here when ASBKIT_TEST_HOST is set, so they never pass without
having run."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ..helpers.cluster_data import needs_host
from ..helpers.files import ROOT

pytestmark = [pytest.mark.cluster, needs_host, pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo to build the Rust tests")]


@pytest.mark.parametrize("suite", ["live_write", "live_restore"])
def test_the_wire_crates_live_tests_pass_against_the_server(suite: str) -> None:
    done = subprocess.run(
        ["cargo", "test", "-q", "-p", "asb-wire", "--test", suite, "--", "--ignored"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=os.environ,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # Every test of the suite ran (none left ignored, none filtered out).
    summary = [line for line in done.stdout.splitlines() if line.startswith("test result:")]
    assert summary and " 0 failed; 0 ignored" in summary[-1] and " 0 passed" not in summary[-1], summary
