from __future__ import annotations

import os
from pathlib import Path

import pytest

from asbkit import _codec

DATA = Path(__file__).resolve().parent / "data"
#: Fixed-mix synthetic corpus, MB of text (ASBKIT_BENCH_MB to change; keep the default to compare runs).
BENCH_MB = int(os.environ.get("ASBKIT_BENCH_MB", "100"))
KEY_PEM = DATA / "bench_key.pem"


def key_material() -> bytes:
    """A throwaway RSA key (so C asrestore can read the same encrypted corpus); the codec
    hashes its PKCS#1 DER, as the C tool does."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from asbkit.io.keys import material_from_file

    DATA.mkdir(exist_ok=True)
    if not KEY_PEM.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        KEY_PEM.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    return material_from_file(KEY_PEM)


#: The codec's `layers=` for plain and zstd files; encrypted ones add ("aes256", key).
PLAIN = {"zstd": False, "level": 0, "encryption": None}
ZSTD = {"zstd": True, "level": 0, "encryption": None}


def synthetic_corpus(mb: int, name: str = "", layers: dict[str, object] = PLAIN) -> tuple[Path, int, int]:
    """The fixed-mix synthetic backup of `mb` MB of text (made once, kept in benches/data):
    its path, records and text bytes."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"synthetic-{mb}MB{name}.asb"
    meta = path.with_suffix(".counts")
    if not path.exists() or not meta.exists():
        records, text_bytes = _codec.write_synthetic(str(path), mb * 1_000_000, seed=1, layers=layers)  # type: ignore[arg-type]
        meta.write_text(f"{records} {text_bytes}")
    records, text_bytes = map(int, meta.read_text().split())
    return path, records, text_bytes


def _corpus(name: str, layers: dict[str, object] = PLAIN) -> tuple[Path, int, int]:
    return synthetic_corpus(BENCH_MB, name, layers)


def bench_addr() -> tuple[str, int]:
    """(host, port) of ASBKIT_BENCH_HOST."""
    host, port = os.environ.get("ASBKIT_BENCH_HOST", "").rsplit(":", 1)
    return host, int(port)


def objects_in(addr: str, namespace: str) -> int:
    """Records the node at `addr` holds in `namespace`."""
    from asbkit.cluster.client import WireAccess, info_fields

    return int(info_fields(_codec.info(addr, [f"namespace/{namespace}"], WireAccess())[0])["objects"])


def holding_only(addr: str, namespace: str, records: int, load: list[str]) -> None:
    """Makes `namespace` on the node at `addr` hold exactly `records` records: unless it
    does, truncates it and runs `load` (a restore of the corpus)."""
    import subprocess
    import time

    from asbkit.cluster.client import WireAccess

    if objects_in(addr, namespace) != records:
        _codec.info(addr, [f"truncate-namespace:namespace={namespace}"], WireAccess())
        deadline = time.monotonic() + 60
        while objects_in(addr, namespace) and time.monotonic() < deadline:
            time.sleep(0.5)
        subprocess.run(load, check=True, capture_output=True)
    assert objects_in(addr, namespace) == records, "the namespace does not hold exactly the corpus"


@pytest.fixture(scope="session")
def corpus_plain() -> tuple[Path, int, int]:
    return _corpus("")


@pytest.fixture(scope="session")
def corpus_zstd() -> tuple[Path, int, int]:
    return _corpus(".zstd", ZSTD)


@pytest.fixture(scope="session")
def corpus_zstd_aes256() -> tuple[Path, int, int]:
    return _corpus(".zstd.aes256", {**ZSTD, "encryption": ("aes256", key_material())})
