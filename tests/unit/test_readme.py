"""The README's file-side example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys

from ..helpers.files import ROOT


def test_the_readme_s_file_side_example_runs() -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split("The file side, runnable from the repository's root", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S)
    assert code, "the example is there"
    p = subprocess.run([sys.executable, "-c", code.group(1)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "records kept" in p.stdout
    import asbkit

    assert asbkit.validate("/tmp/one.asb", deep=True).findings == 0
