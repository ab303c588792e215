"""The cluster view's parsing, on answers as nodes give them: hosts, replicas, racks."""

from __future__ import annotations

import base64
import pathlib

import pytest

from asbkit.cluster.client import Node, choose_readers, parse_hosts, parse_racks, replica_bitmaps


def bitmap(pids: set[int]) -> str:
    b = bytearray(512)
    for p in pids:
        b[p >> 3] |= 0x80 >> (p & 7)
    return base64.b64encode(bytes(b)).decode()


def test_hosts_as_the_c_tools_write_them() -> None:
    assert parse_hosts("a,b:3100;c:tls1:3200,[::1]:3300", 3000) == [("a", 3000), ("b", 3100), ("c", 3200, "tls1"), ("::1", 3300)]
    assert parse_hosts("h:name", 3000) == [("h", 3000, "name")]
    for bad in ("", "h:1:2:3", "[::1:3000", "h:x:y"):
        with pytest.raises(ValueError):
            parse_hosts(bad)


def test_replicas_bitmaps_are_msb_first_per_replica_index() -> None:
    reply = f"test:0,2,{bitmap({0, 9, 4095})},{bitmap({1})};bar:0,1,{bitmap({5})}"
    regime, held = replica_bitmaps(reply, "test")
    assert regime == 0 and [pids for index, pids in held if index == 0] == [[0, 9, 4095]]
    assert held == [(0, [0, 9, 4095]), (1, [1])]
    assert replica_bitmaps(reply, "bar") == (0, [(0, [5])])


def test_prefer_racks_reads_the_first_replica_on_a_preferred_rack() -> None:
    a, b, c = (Node(n, "127.0.0.1", p) for n, p in (("A", 1), ("B", 2), ("C", 3)))
    racks = parse_racks("ns=test:rack_1=A:rack_2=B,C;ns=bar:rack_0=A,B,C", "test")
    assert racks == {"A": 1, "B": 2, "C": 2}
    assert parse_racks("ERROR:25:enterprise only", "test") is None
    masters = {0: a, 1: b, 2: c}
    replicas = {0: [(0, a), (1, b)], 1: [(0, b), (1, a)], 2: [(1, a), (0, c)]}
    rack_of = {a: 1, b: 2, c: 2}
    assert choose_readers(masters, replicas, rack_of, [1]) == {0: a, 1: a, 2: a}
    assert choose_readers(masters, replicas, rack_of, [2]) == {0: b, 1: b, 2: c}
    assert choose_readers(masters, replicas, rack_of, [7]) == masters


def test_a_refused_login_is_worded_as_the_c_tools_word_it() -> None:
    from asbkit.cluster.client import client_message

    class Refused(Exception):
        code = 62
        msg = "AEROSPIKE_INVALID_PASSWORD"

    said = client_message(Refused())
    assert said.startswith("Invalid username or password") and "-P/--password" in said


def test_tls_keyfile_password_forms(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from asbkit import AsbClusterError
    from asbkit.cluster.client import decrypted_key_file, resolve_password

    from ..helpers.tls_certs import make_pki

    pki = make_pki(tmp_path)
    monkeypatch.setenv("ASBKIT_KEYPASS", "keypass")
    (tmp_path / "pw.txt").write_text("keypass\n")
    forms = ["env:ASBKIT_KEYPASS", f"file:{tmp_path / 'pw.txt'}", "keypass"]
    assert [resolve_password(f) for f in forms] == ["keypass"] * 3
    plain = pki["client_key"].read_bytes()
    from cryptography.hazmat.primitives import serialization

    want = serialization.load_pem_private_key(plain, None).private_numbers()
    for form in forms:
        path = decrypted_key_file(str(pki["client_key_encrypted"]), resolve_password(form) or "")
        assert serialization.load_pem_private_key(open(path, "rb").read(), None).private_numbers() == want
    try:
        decrypted_key_file(str(pki["client_key_encrypted"]), "nope")
    except AsbClusterError as exc:
        assert "--tls-keyfile-password" in str(exc) and "nope" not in str(exc)
    else:
        raise AssertionError("a wrong password was taken")


def test_a_user_without_a_password_is_an_error_the_library_does_not_ask(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking is the command line's (tests/cli/test_password_prompt.py): the library raises
    PasswordNeeded, naming the user and the flag, before it connects, and leaves the
    caller's configuration as it was. No server is needed."""
    import getpass

    from asbkit import ClusterConfig, PasswordNeeded, backup, restore
    from asbkit.cluster.client import Cluster

    from ..helpers.files import SAMPLE

    def ask(*_: object) -> str:
        raise AssertionError("the library asked for a password")

    monkeypatch.setattr(getpass, "getpass", ask)
    config = ClusterConfig(hosts="127.0.0.1:9", user="admin")
    with pytest.raises(PasswordNeeded, match=r"user admin needs a password .*-P/--password"):
        Cluster(config)
    with pytest.raises(PasswordNeeded) as info:
        backup(config, namespace="test", directory=str(tmp_path / "bk"))
    assert info.value.report.records == 0  # type: ignore[attr-defined]
    with pytest.raises(PasswordNeeded) as info:
        restore(config, input_file=str(SAMPLE))
    assert info.value.report.files == [str(SAMPLE)]  # type: ignore[attr-defined]
    assert config.password is None
