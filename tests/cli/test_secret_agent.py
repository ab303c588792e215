"""Secret Agent references (`secrets[:resource]:key`) against a small agent of our own on
loopback: values, file contents for path options, unknown keys, a silent agent, a dead
one, TLS; and that a secret's value appears in no output."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from asbkit.cli.app import build_parser, commands, with_config
from asbkit.cli.secret_agent import SecretAgent, SecretError, parse_reference

from ..helpers.secret_agent_server import SecretAgentServer
from ..helpers.tls_certs import make_pki


@pytest.fixture
def agent() -> SecretAgentServer:
    a = SecretAgentServer({("", "ns"): b"test", ("app", "password"): b"s3cr3t-value", ("app", "pem"): b"-----BEGIN PRIVATE KEY-----\nxyz\n"})
    yield a
    a.close()


def args_for(*argv: str) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    return with_config(parser, args, list(argv), commands()[args.command])


def test_references_name_resource_and_key() -> None:
    assert parse_reference("secrets:app:password") == ("app", "password")
    assert parse_reference("secrets:password") == ("", "password")
    with pytest.raises(SecretError, match="names no key"):
        parse_reference("secrets:app:")


def test_values_come_from_the_agent(agent: SecretAgentServer) -> None:
    a = args_for("backup", "-d", "x", "--sa-port", str(agent.port), "-n", "secrets:ns", "-P", "secrets:app:password")
    assert (a.namespace, a.password) == ("test", "s3cr3t-value")
    assert {"Resource": "app", "SecretKey": "password"} in agent.requests


def test_path_options_get_the_secret_as_a_file(agent: SecretAgentServer) -> None:
    a = args_for("restore", "-d", "x", "--sa-address", f"127.0.0.1:{agent.port}", "--tls-keyfile", "secrets:app:pem")
    path = Path(a.tls_keyfile)
    assert path.read_bytes() == b"-----BEGIN PRIVATE KEY-----\nxyz\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_config_file_value_can_be_a_secret(agent: SecretAgentServer, tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text(f'[secret-agent]\nsa-port = {agent.port}\n[asbackup]\nnamespace = "secrets:ns"\n')
    assert args_for("backup", "-d", "x", "--only-config-file", str(conf)).namespace == "test"


def test_an_unknown_key_is_named_without_any_value(agent: SecretAgentServer) -> None:
    with pytest.raises(SecretError) as info:
        SecretAgent(port=agent.port).fetch("app", "nope")
    assert "'nope'" in str(info.value) and "app" in str(info.value)


def test_a_silent_agent_times_out_and_a_dead_one_is_said() -> None:
    silent = SecretAgentServer({}, silent=True)
    try:
        started = time.monotonic()
        with pytest.raises(SecretError, match="--sa-timeout"):
            SecretAgent(port=silent.port, timeout_ms=300).fetch("", "k")
        assert time.monotonic() - started < 5
    finally:
        silent.close()
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(SecretError, match="--sa-address"):
        SecretAgent(port=port).fetch("", "k")


def test_tls_to_the_agent(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "other").mkdir()
    pki = make_pki(tmp_path / "pki", name="localhost")
    a = SecretAgentServer({("", "k"): b"over tls"}, tls=(pki["cert"], pki["key"]))
    try:
        assert SecretAgent("localhost", a.port, cafile=str(pki["ca"])).fetch("", "k") == b"over tls"
        other = make_pki(tmp_path / "other", name="localhost")
        with pytest.raises(SecretError, match="--sa-cafile"):
            SecretAgent("localhost", a.port, cafile=str(other["ca"])).fetch("", "k")
    finally:
        a.close()


def test_an_encryption_key_from_the_agent_reads_a_backup_and_is_never_shown(tmp_path: Path, test_key: Path) -> None:
    """`restore --validate` of an encrypted backup whose key comes from the agent: the
    secret is used as the key file's content, and neither it nor its lines are printed."""
    from asbkit import BackupWriter, Bin, Layers, Record

    pem = test_key.read_bytes()
    layers = Layers(encrypt="aes256", key_file=str(test_key))
    path = tmp_path / "enc.asb"
    with BackupWriter(path, "test", layers=layers) as w:
        w.write(Record("test", b"\x01" * 20, [Bin("a", "I", 1)]))
    a = SecretAgentServer({("keys", "backup"): pem})
    machine = tmp_path / "machine.txt"
    private_before = {d for d in os.listdir(tempfile.gettempdir()) if d.startswith("asbkit-secrets-")}
    try:
        p = subprocess.run(
            [sys.executable, "-m", "asbkit", "restore", "--validate", "-i", str(path), "-y", "aes256", "--encryption-key-file", "secrets:keys:backup",
             "--sa-port", str(a.port), "-v", "--log-json", "-m", str(machine)],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        a.close()
    assert p.returncode == 0, p.stderr
    assert "valid: 1 file, 1 record" in p.stdout
    everything = p.stdout + p.stderr + (machine.read_text() if machine.exists() else "")
    for line in pem.decode().splitlines():
        if len(line) > 8 and "-----" not in line:
            assert line not in everything
    # The private copy is gone with the process.
    assert {d for d in os.listdir(tempfile.gettempdir()) if d.startswith("asbkit-secrets-")} == private_before


@pytest.mark.skipif(not os.environ.get("ASBKIT_TEST_HOST"), reason="set ASBKIT_TEST_HOST=host:port to a test Aerospike server")
def test_a_password_from_the_agent_is_in_no_output(agent: SecretAgentServer, tmp_path: Path) -> None:
    """Community Edition has no security (it answers a login with "not supported", which
    the clients take as no login needed): every output of each run is searched for the
    password and its base64."""
    import base64

    h, p = os.environ["ASBKIT_TEST_HOST"].rsplit(":", 1)
    machine = tmp_path / "m.txt"
    for command in (["backup", "-n", "test", "-d", str(tmp_path / "b")], ["restore", "-d", str(tmp_path)], ["verify", str(tmp_path)]):
        run = subprocess.run(
            [sys.executable, "-m", "asbkit", *command, "-h", h, "-p", p, "-U", "admin", "-P", "secrets:app:password", "--sa-port", str(agent.port),
             "-v", "--output", "json", *(["-m", str(machine)] if command[0] != "verify" else [])],
            capture_output=True, text=True, timeout=60,
        )
        assert '"command"' in run.stdout, run.stderr
        everything = run.stdout + run.stderr + (machine.read_text() if machine.exists() else "")
        everything += "".join(f.read_text(errors="replace") for f in (tmp_path / "b").glob("*") if f.is_file())
        assert "s3cr3t-value" not in everything and base64.b64encode(b"s3cr3t-value").decode() not in everything
        assert {"Resource": "app", "SecretKey": "password"} in agent.requests
