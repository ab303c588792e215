"""The upstream vectors, read and written through the Python API."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import asbkit
from asbkit import AsbError, AsbKeyError, AsbLayerError, AsbParseError, BackupReader, BackupWriter, Layers
from asbkit.io.keys import material_from_env, material_from_file

from ..helpers.files import GENERATED, SAMPLE, rewrite, vector


def test_upstream_file_reads_as_typed_objects(upstream_asb: Path) -> None:
    reader = asbkit.read_backup(upstream_asb)
    (record,) = list(reader)
    assert reader.header is not None
    assert (reader.header.version, reader.header.namespace, reader.header.first_file) == ("3.1", "test", True)
    assert isinstance(record, asbkit.Record)
    assert record.namespace == "test" and record.set == "demo"
    assert record.key is not None and (record.key.type, record.key.value) == ("S", "key1")
    assert base64.b64encode(record.digest) == b"7JEZLUt/jONdXXjTS8ply6qqyWA="
    assert (record.generation, record.void_time) == (1, 428179113)
    assert [(b.name, b.type, b.value) for b in record.bins] == [
        ("foo", "I", 123),
        ("bar", "S", "abc"),
        ("baz", "Z", True),
    ]
    assert asbkit.compute_digest(record.set, record.key) == record.digest


@pytest.mark.parametrize("path", ["upstream", "sample"])
def test_canonical_files_write_back_byte_identical(path: str, upstream_asb: Path) -> None:
    p = upstream_asb if path == "upstream" else SAMPLE
    assert rewrite(p) == p.read_bytes()


def test_bad_file_is_located_at_line_13_column_3(bad_asb: Path) -> None:
    with pytest.raises(AsbParseError) as info:
        list(asbkit.read_backup(bad_asb))
    err = info.value
    assert (err.line, err.column) == (13, 3)
    assert err.offset == bad_asb.stat().st_size - 8
    assert err.path == str(bad_asb)
    assert 'invalid bin type "x"' in err.message
    assert isinstance(err, AsbError) and not isinstance(err, ValueError)
    assert f"{bad_asb}:13:3" in str(err)


def test_missing_final_lf_is_an_error(upstream_asb: Path) -> None:
    data = upstream_asb.read_bytes()[:-1]
    with pytest.raises(AsbParseError, match="unexpected end of file") as info:
        list(BackupReader(io.BytesIO(data)))
    assert info.value.line == 13


@pytest.mark.parametrize(("name", "compress", "encrypt"), GENERATED)
def test_generated_vectors_decode_with_their_layers(
    name: str, compress: str | None, encrypt: str | None, upstream_asb: Path, test_key: Path
) -> None:
    layers = Layers(compress=compress, encrypt=encrypt, key_file=str(test_key) if encrypt else None)
    assert rewrite(vector(f"generated/{name}"), layers) == upstream_asb.read_bytes()


def test_key_derivation_matches_the_c_tool(test_key: Path) -> None:
    assert hashlib.sha256(material_from_file(test_key)).hexdigest() == (
        "84a1baf3fe4111b646cf2e688b1585018989ad61973ed302a56be2fe8cadb6a2"
    )
    pkcs8 = material_from_file(vector("backup-go/tests/pkey_test"))
    assert len(pkcs8) == 1192
    assert hashlib.sha256(pkcs8).hexdigest() == (
        "8eb5ae0e21dd639146e9e0315b1e7772996884d80488b5f4b2642de845633de8"
    )


def test_key_from_env_is_the_decoded_bytes(test_key: Path, upstream_asb: Path) -> None:
    der = material_from_file(test_key)
    env = {"ASB_KEY": base64.b64encode(der).decode()}
    assert material_from_env("ASB_KEY", env) == der
    with pytest.raises(AsbKeyError, match="multiple of 4"):
        material_from_env("K", {"K": "abc"})
    with pytest.raises(AsbKeyError, match="not valid base64"):
        material_from_env("K", {"K": "ab*d"})
    with pytest.raises(AsbKeyError, match="not set"):
        material_from_env("MISSING", {})


def test_env_key_decrypts_like_the_key_file(test_key: Path, upstream_asb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASBKIT_TEST_KEY", base64.b64encode(material_from_file(test_key)).decode())
    layers = Layers(encrypt="aes256", key_env="ASBKIT_TEST_KEY")
    assert rewrite(vector("generated/test_backup_file.aes256.asb"), layers) == upstream_asb.read_bytes()


@pytest.mark.parametrize("rel", ["tools-backup/test/bad_test_key.pem", "backup-go/tests/integration/cert_test.pem"])
def test_malformed_pem_is_rejected_clearly(rel: str) -> None:
    with pytest.raises(AsbKeyError, match="not a usable PEM private key") as info:
        material_from_file(vector(rel))
    assert info.value.path == str(vector(rel))


def test_wrong_key_is_named(upstream_asb: Path) -> None:
    layers = Layers(encrypt="aes256", key_file=str(vector("tools-backup/test/test_key2.pem")))
    with pytest.raises(AsbLayerError, match="key is not the one"):
        rewrite(vector("generated/test_backup_file.aes256.asb"), layers)


@pytest.mark.parametrize(
    ("name", "layers", "hint"),
    [
        ("test_backup_file.zstd.asb", {}, "pass --compress zstd"),
        ("test_backup_file.aes128.asb", {}, "probably encrypted"),
        ("test_backup_file.aes128.asb", {"encrypt": "aes256"}, "pass --encrypt aes128"),
        ("test_backup_file.zstd.aes256.asb", {"encrypt": "aes256"}, "pass --compress zstd"),
        ("test_backup_file.zstd.asb", {"compress": "zstd", "encrypt": "aes128"}, "not encrypted"),
    ],
)
def test_mismatched_layer_options_say_which_flag(name: str, layers: dict[str, str], hint: str, test_key: Path) -> None:
    key = {"key_file": str(test_key)} if "encrypt" in layers else {}
    with pytest.raises(AsbLayerError, match=hint) as info:
        rewrite(vector(f"generated/{name}"), Layers(**layers, **key))
    assert info.value.path is not None and name in info.value.path


def _c_model_decrypt(data: bytes, key: bytes) -> bytes:
    """Independent model of the C framing: E(IV0) header, CTR from IV0 + 1."""
    iv0 = Cipher(algorithms.AES(key), modes.ECB()).decryptor().update(data[:16])
    counter = ((int.from_bytes(iv0, "big") + 1) % 2**128).to_bytes(16, "big")
    return Cipher(algorithms.AES(key), modes.CTR(counter)).decryptor().update(data[16:])


@pytest.mark.parametrize("encrypt", ["aes128", "aes256"])
@pytest.mark.parametrize("compress", [None, "zstd"])
def test_written_layers_decode_with_independent_implementations(
    tmp_path: Path, compress: str | None, encrypt: str, test_key: Path, upstream_asb: Path
) -> None:
    zstandard = pytest.importorskip("zstandard")
    layers = Layers(compress=compress, encrypt=encrypt, key_file=str(test_key))
    out = tmp_path / "x.asb"
    with BackupWriter(out, "test", layers=layers) as w:
        for entity in asbkit.read_backup(upstream_asb):
            w.write(entity)
    key = hashlib.sha256(material_from_file(test_key)).digest()[: 16 if encrypt == "aes128" else 32]
    payload = _c_model_decrypt(out.read_bytes(), key)
    if compress:
        payload = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(payload), read_across_frames=True).read()
    assert payload == upstream_asb.read_bytes()


def test_pkcs8_and_pkcs1_forms_of_one_key_derive_the_same_key(tmp_path: Path, test_key: Path) -> None:
    key = serialization.load_pem_private_key(test_key.read_bytes(), None)
    pkcs8 = tmp_path / "k8.pem"
    pkcs8.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    assert b"BEGIN PRIVATE KEY" in pkcs8.read_bytes()
    assert material_from_file(pkcs8) == material_from_file(test_key)
