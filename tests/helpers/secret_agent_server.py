"""A small Aerospike Secret Agent of our own on loopback, speaking its protocol (an 8-byte
header of magic 0x51dec1cc and JSON length, then JSON), optionally over TLS; it can also
accept and never answer, to test timeouts."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import struct
import threading
from pathlib import Path

MAGIC = 0x51DEC1CC


class SecretAgentServer:
    def __init__(self, secrets: dict[tuple[str, str], bytes], *, silent: bool = False, tls: tuple[Path, Path] | None = None) -> None:
        self.secrets = secrets
        self.silent = silent
        self.requests: list[dict[str, str]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.ctx: ssl.SSLContext | None = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(str(tls[0]), str(tls[1]))
        self._stop = False
        self._held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            if self.ctx is not None:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            if self.silent:
                self._held.append(conn)
                return
            magic, length = struct.unpack(">II", self._read(conn, 8))
            assert magic == MAGIC
            request = json.loads(self._read(conn, length))
            self.requests.append(request)
            value = self.secrets.get((request["Resource"], request["SecretKey"]))
            reply = {"SecretValue": base64.b64encode(value).decode()} if value is not None else {"Error": f"no such key {request['SecretKey']}"}
            body = json.dumps(reply).encode()
            conn.sendall(struct.pack(">II", MAGIC, len(body)) + body)
            conn.close()
        except (OSError, ssl.SSLError, AssertionError):
            conn.close()

    @staticmethod
    def _read(conn: socket.socket, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = conn.recv(n - len(out))
            if not chunk:
                raise OSError("closed")
            out += chunk
        return out

    def close(self) -> None:
        self._stop = True
        self.listener.close()
        for c in self._held:
            c.close()
