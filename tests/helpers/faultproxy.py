"""A small fault-injecting TCP proxy on loopback, in front of a real server: it forwards
bytes both ways and, when told, drops a connection after some bytes or stalls it."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    #: Close a client connection once this many bytes went from server to client (0: never).
    drop_after_bytes: int = 0
    #: Stop forwarding for this many seconds once `stall_after_bytes` went through.
    stall_seconds: float = 0.0
    stall_after_bytes: int = 0
    #: How many connections get the fault (then the proxy behaves), -1 for all.
    times: int = 1
    #: Only connections whose first request is a record message (proto type 3: scans,
    #: writes), not info commands.
    only_records: bool = False
    #: Flip one byte once this many bytes went through (0: never): data damaged on the way.
    corrupt_after_bytes: int = 0
    #: ...and again every this many bytes after it (0: once a connection).
    corrupt_every_bytes: int = 0
    #: Hold every request whose first line holds all of these (an HTTP request's method and
    #: query, as `[b"POST ", b"uploadId="]`) for `hold_seconds` before sending it on.
    hold_requests: tuple[bytes, ...] = ()
    hold_seconds: float = 0.0
    #: The faults hit what the server sends (False: what the client sends, an upload).
    downstream: bool = True
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.times >= 0 and self.used >= self.times:
                return False
            self.used += 1
            return True


class FaultProxy:
    def __init__(self, target: tuple[str, int], faults: Faults | None = None) -> None:
        self.target = target
        self.faults = faults or Faults()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.faulted = 0
        #: The first lines of the requests held.
        self.held: list[bytes] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop = True
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            kind: dict[str, bool] = {}
            threading.Thread(target=self._pump, args=(client, server, False, kind), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True, kind), daemon=True).start()

    def _corrupt(self, f: Faults, sent: int, data: bytes) -> bytes:
        """`data` (the bytes from `sent` on) with the bytes the faults hit flipped."""
        at = f.corrupt_after_bytes
        if f.corrupt_every_bytes and at < sent:
            at += -(-(sent - at) // f.corrupt_every_bytes) * f.corrupt_every_bytes
        out = bytearray(data)
        while sent <= at < sent + len(data) and f.take():
            self.faulted += 1
            out[at - sent] ^= 0x20
            if not f.corrupt_every_bytes:
                break
            at += f.corrupt_every_bytes
        return bytes(out)

    def _pump(self, src: socket.socket, dst: socket.socket, to_client: bool, kind: dict[str, bool]) -> None:
        sent = 0
        stalled = False
        try:
            while True:
                data = src.recv(65536)
                f = self.faults  # a test may change them mid-run
                if not data:
                    break
                if not to_client and "records" not in kind and len(data) >= 2:
                    kind["records"] = data[1] == 3
                if f.only_records and not kind.get("records", False):
                    dst.sendall(data)
                    sent += len(data)
                    continue
                faulty = to_client == f.downstream
                # Only streams that carry this much data get the fault (not info replies).
                if faulty and f.drop_after_bytes and sent + len(data) >= f.drop_after_bytes and f.take():
                    self.faulted += 1
                    dst.sendall(data[: max(0, f.drop_after_bytes - sent)])
                    break
                if not to_client and f.hold_requests:
                    first_line = data.split(b"\r\n", 1)[0]
                    if all(p in first_line for p in f.hold_requests):
                        self.faulted += 1
                        self.held.append(first_line)
                        time.sleep(f.hold_seconds)
                if faulty and f.corrupt_after_bytes:
                    data = self._corrupt(f, sent, data)
                if faulty and f.stall_seconds and not stalled and sent + len(data) >= f.stall_after_bytes and f.take():
                    self.faulted += 1
                    stalled = True
                    time.sleep(f.stall_seconds)
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
