"""The package's layout holds (besides the import contracts that `lint-imports` checks):
inside the package nothing imports the facade `asbkit` itself, only the Rust extension
`asbkit._codec` that the contracts cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

import asbkit

PACKAGE = Path(asbkit.__file__).parent


def _imports_of_the_facade(path: Path) -> list[str]:
    """`from asbkit import X` / `from .. import X` (to the root) lines but for _codec."""
    tree = ast.parse(path.read_text(), str(path))
    depth = len(path.relative_to(PACKAGE).parts) - 1
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            to_root = (node.module == "asbkit" and node.level == 0) or (node.module is None and node.level == depth + 1)
            names = [a.name for a in node.names]
            if to_root and names != ["_codec"]:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_inside_the_package_imports_the_facade() -> None:
    modules = [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py" and p != PACKAGE / "__main__.py"]
    assert len(modules) > 40
    found = [line for p in modules for line in _imports_of_the_facade(p)]
    assert not found, "\n".join(found)


def test_every_public_name_is_importable_from_the_facade() -> None:
    missing = [name for name in asbkit.__all__ if not hasattr(asbkit, name)]
    assert not missing
    for name in ("backup", "restore", "verify", "validate", "inspect", "stats", "convert", "filter_backup", "split_backup"):
        assert callable(getattr(asbkit, name)), name


def test_the_calls_stay_functions_after_their_packages_modules_are_imported() -> None:
    # `asbkit.backup` and `asbkit.restore` are both subpackages and calls: importing a
    # module of the package (as the CLI does) must not leave the package where the call was.
    import subprocess
    import sys

    code = (
        "import asbkit.backing_up.run, asbkit.restoring.run, asbkit.restoring.verify, asbkit\n"
        "import types\n"
        "bad = [n for n in ('backup', 'restore', 'verify') if isinstance(getattr(asbkit, n), types.ModuleType)]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_cli_reaches_the_extension_only_through_the_library() -> None:
    # Every layer below the CLI may use `asbkit._codec` (lint-imports cannot see an
    # extension module, so this is checked here).
    found = []
    for path in (PACKAGE / "cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [node.module or ""] + [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n == "_codec" or n.endswith("._codec") for n in names):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not found, found
