"""Key material for the AES layer, derived exactly as C asbackup derives it.

asbackup hashes (SHA-256) the private key re-encoded by OpenSSL's `i2d_PrivateKey`: for RSA
that is the PKCS#1 DER, whatever PEM form the file had (PKCS#1 or PKCS#8). From an
environment variable it hashes the base64-decoded bytes as they are. Hashing happens in the
codec; this module only produces the bytes to hash.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from ..errors import AsbKeyError


def material_from_pem(pem: bytes, source: str) -> bytes:
    """DER bytes that `i2d_PrivateKey` gives for the PEM private key in `pem`."""
    # Imported here: only encrypted backups need it, and it costs every command otherwise.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, x448, x25519

    no_traditional_form = (
        ed25519.Ed25519PrivateKey,
        ed448.Ed448PrivateKey,
        x25519.X25519PrivateKey,
        x448.X448PrivateKey,
    )
    if b"ENCRYPTED" in pem:
        raise AsbKeyError(
            "the private key is protected by a passphrase; asbackup cannot use such keys "
            "unattended: decrypt it first (openssl pkey -in KEY -out PLAIN)",
            path=source,
        )
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise AsbKeyError(
            f"not a usable PEM private key ({exc}); --encryption-key-file expects the PEM "
            "private key the backup was made with",
            path=source,
        ) from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for odd keys
        raise AsbKeyError(f"unsupported private key: {exc}", path=source) from None
    fmt = (
        serialization.PrivateFormat.PKCS8
        if isinstance(key, no_traditional_form)
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    return key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())


def material_from_file(path: str | os.PathLike[str]) -> bytes:
    p = Path(path)
    try:
        pem = p.read_bytes()
    except OSError as exc:
        raise AsbKeyError(f"cannot read the key file: {exc.strerror}", path=str(p)) from None
    return material_from_pem(pem, str(p))


def material_from_env(name: str, environ: dict[str, str] | None = None) -> bytes:
    """The bytes the C tool hashes for `--encryption-key-env NAME`: strict base64, decoded."""
    env = os.environ if environ is None else environ
    value = env.get(name)
    if value is None:
        raise AsbKeyError(f"the environment variable {name} (--encryption-key-env) is not set")
    if not value or len(value) % 4 != 0:
        raise AsbKeyError(
            f"the environment variable {name} must hold base64 text whose length is a multiple "
            "of 4, without line breaks (e.g. the body of a PEM key on one line)"
        )
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise AsbKeyError(f"the environment variable {name} is not valid base64: {exc}") from None
