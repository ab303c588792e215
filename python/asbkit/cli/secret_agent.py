"""Aerospike Secret Agent: option values of the form `secrets[:resource]:key` are fetched
from it, as the C tools fetch them.

The protocol: a request and a reply, each an 8-byte header (magic 0x51dec1cc and the JSON
length, both big-endian) and JSON: `{"Resource": …, "SecretKey": …}` out,
`{"SecretValue": base64}` or `{"Error": …}` back. Values are base64; decoded here. For
options that name a file (`--tls-cafile`, `--encryption-key-file`, …) the secret is the
file's content: it is written to a private temporary file (mode 0600, in a 0700 directory,
removed at exit) whose path the option then takes. A secret's value is never logged or
shown: errors name the agent, the resource and the key only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import struct
from typing import Any

from ..errors import AsbError
from ..io.private import private_file

MAGIC = 0x51DEC1CC
PREFIX = "secrets:"
#: Options whose value is a file's path: the secret is that file's content.
FILE_OPTIONS = {"tls_cafile", "tls_certfile", "tls_keyfile", "key_file"}
#: Options that configure the agent itself are never fetched from it.
AGENT_OPTIONS = {"sa_address", "sa_port", "sa_timeout", "sa_cafile"}
MAX_REPLY = 16 << 20


class SecretError(AsbError):
    """A secret could not be had from the agent."""

    code = "secret_error"


def add_secret_agent_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("[secret-agent] (values written secrets[:resource]:key are fetched from it)")
    g.add_argument("--sa-address", default="127.0.0.1", metavar="HOST[:PORT]", help="the agent's address (default 127.0.0.1)")
    g.add_argument("--sa-port", type=int, default=3005, metavar="PORT", help="its port (default 3005)")
    g.add_argument("--sa-timeout", type=int, default=1000, metavar="MS", help="connect and answer timeout (default 1000)")
    g.add_argument("--sa-cafile", metavar="PEM", help="CA certificate: talk to the agent over TLS")


def parse_reference(value: str) -> tuple[str, str]:
    """`secrets:resource:key` or `secrets:key` → (resource, key)."""
    parts = value[len(PREFIX):].split(":", 1)
    resource, key = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    if not key:
        raise SecretError(f"{value!r} names no key: write secrets:RESOURCE:KEY or secrets:KEY")
    return resource, key


class SecretAgent:
    def __init__(self, address: str = "127.0.0.1", port: int = 3005, timeout_ms: int = 1000, cafile: str | None = None) -> None:
        host, _, p = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
        self.host = host or address
        self.port = int(p) if p else port
        self.timeout = max(timeout_ms, 1) / 1000
        self.cafile = cafile

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}" + (" (TLS)" if self.cafile else "")

    def fetch(self, resource: str, key: str) -> bytes:
        # Imported here: ssl costs start-up time and memory every run otherwise.
        import socket
        import ssl

        what = f"secret {key!r}" + (f" of resource {resource!r}" if resource else "")
        request = json.dumps({"Resource": resource, "SecretKey": key}).encode()
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as raw:
                conn: Any = raw
                if self.cafile:
                    ctx = ssl.create_default_context(cafile=self.cafile)
                    conn = ctx.wrap_socket(raw, server_hostname=self.host)
                conn.sendall(struct.pack(">II", MAGIC, len(request)) + request)
                magic, length = struct.unpack(">II", _read(conn, 8))
                if magic != MAGIC or length > MAX_REPLY:
                    raise SecretError(f"the secret agent at {self.where} answered for {what} with something that is not its protocol")
                reply = json.loads(_read(conn, length))
        except TimeoutError as exc:
            raise SecretError(f"the secret agent at {self.where} did not answer for {what} within --sa-timeout ({self.timeout * 1000:.0f} ms)") from exc
        except ssl.SSLError as exc:
            raise SecretError(f"TLS to the secret agent at {self.where} failed for {what}: {exc.reason or exc} (check --sa-cafile)") from exc
        except OSError as exc:
            raise SecretError(f"cannot reach the secret agent at {self.where} for {what}: {exc.strerror or exc} (check --sa-address and --sa-port)") from exc
        except (ValueError, struct.error) as exc:
            raise SecretError(f"the secret agent at {self.where} answered for {what} with something that is not its protocol") from exc
        if not isinstance(reply, dict):
            raise SecretError(f"the secret agent at {self.where} answered for {what} with something that is not its protocol")
        if "Error" in reply:
            raise SecretError(f"the secret agent at {self.where} has no {what}: {str(reply['Error'])[:200]}")
        value = reply.get("SecretValue")
        if not isinstance(value, str):
            raise SecretError(f"the secret agent at {self.where} sent no value for {what}")
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise SecretError(f"the secret agent at {self.where} sent {what} not in base64") from exc


def _read(conn: Any, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise ConnectionError(0, "the agent closed the connection")
        out += chunk
    return out


def resolve_secrets(args: argparse.Namespace) -> list[str]:
    """Replaces every `secrets:` value of `args` by the agent's answer; the options done."""
    agent: SecretAgent | None = None
    done = []
    for dest, value in sorted(vars(args).items()):
        if not isinstance(value, str) or not value.startswith(PREFIX) or dest in AGENT_OPTIONS:
            continue
        if agent is None:
            agent = SecretAgent(args.sa_address, args.sa_port, args.sa_timeout, args.sa_cafile)
        resource, key = parse_reference(value)
        secret = agent.fetch(resource, key)
        if dest in FILE_OPTIONS:
            setattr(args, dest, private_file(dest, secret))
        else:
            try:
                setattr(args, dest, secret.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise SecretError(f"the secret for --{dest.replace('_', '-')} is not text") from exc
        done.append(dest)
    return done
