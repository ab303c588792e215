"""Private temporary files for secrets that must be handed over as paths (a key from the
Secret Agent, a TLS key decrypted for rustls): readable by this user only, removed at exit."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_private_dir: str | None = None


def private_file(name: str, content: bytes) -> str:
    """`content` in a file only this user can read (0600 in a 0700 directory), removed at
    exit; its path."""
    global _private_dir
    if _private_dir is None:
        _private_dir = tempfile.mkdtemp(prefix="asbkit-secrets-")
        atexit.register(shutil.rmtree, _private_dir, True)
    path = os.path.join(_private_dir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    return path
