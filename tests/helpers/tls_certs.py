"""A CA and a node certificate for TLS tests, made with `cryptography`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def make_pki(d: Path, name: str = "node1.test") -> dict[str, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    now = dt.datetime.now(dt.UTC)
    ca_key = key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asbkit test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    node_key = key()
    node = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name).public_key(node_key.public_key()).serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    out = {"ca": d / "ca.pem", "cert": d / "node.pem", "key": d / "node.key"}
    out["ca"].write_bytes(ca.public_bytes(pem))
    out["cert"].write_bytes(node.public_bytes(pem))
    out["key"].write_bytes(node_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    # A client certificate for mutual TLS, its key also encrypted with the password "keypass".
    client_key = key()
    client = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asbkit client")]))
        .issuer_name(ca_name).public_key(client_key.public_key()).serial_number(3)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out.update(client_cert=d / "client.pem", client_key=d / "client.key", client_key_encrypted=d / "client.enc.key")
    out["client_cert"].write_bytes(client.public_bytes(pem))
    out["client_key"].write_bytes(client_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    out["client_key_encrypted"].write_bytes(
        client_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"keypass"))
    )
    return out
