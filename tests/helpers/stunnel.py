"""A real TLS terminator (Debian's stunnel4) in front of a test server, with certificates
made for the test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .tls_certs import make_pki


@contextmanager
def terminator(tmp_path: Path, target: tuple[str, int], *, demand_client_cert: bool = False) -> Iterator[dict[str, Any]]:
    """stunnel accepting TLS on a free loopback port and forwarding to `target`; yields its
    address and the PKI (`ca`, `cert`, `key`, `client_cert`, `client_key`, …)."""
    exe = shutil.which("stunnel4") or shutil.which("stunnel")
    if not exe:
        pytest.skip("stunnel4 is not installed (apt-get install stunnel4)")
    (tmp_path / "pki").mkdir()
    pki = make_pki(tmp_path / "pki")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "stunnel.conf"
    conf.write_text(
        f"foreground = yes\n[aerospike]\naccept = 127.0.0.1:{port}\nconnect = {target[0]}:{target[1]}\n"
        f"cert = {pki['cert']}\nkey = {pki['key']}\n"
        + (f"CAfile = {pki['ca']}\nverifyChain = yes\nrequireCert = yes\n" if demand_client_cert else "")
    )
    proc = subprocess.Popen([exe, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield {"addr": f"127.0.0.1:{port}", **pki}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
