"""The cluster view, through the official `aerospike` client: seeds, nodes, who masters
which partition, info commands. Record streams do not go through here (see `_codec`).
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asbkit._codec as _codec

from ..errors import AsbClusterError, AuthFailed, ClusterUnreachable, PasswordNeeded
from ..io.private import private_file
from ..spec import nested, option

N_PARTITIONS = 4096
log = logging.getLogger("asbkit.cluster")


#: Seeds as the C tools' `-h` takes them (`"h1:3000,h2"`), or as (host, port) pairs.
Hosts = str | Sequence[tuple[str, int]]

#: Help sections of the connection flags, as the C tools' help names them.
CONNECTION = "[cluster] connection (as the C tools take it)"
TLS = "[cluster] TLS"
#: How the timeout and retry flags read for what each command sends.
TOTAL_TIMEOUT_HELP = {
    "backup": "total scan timeout (default 0: none)",
    "restore": "total timeout of a batch write (default 0: -T/--timeout)",
    "verify": "total timeout of a batch read (default 0: -T/--timeout)",
}


def _racks(text: str) -> list[int]:
    try:
        return [int(r) for r in text.split(",") if r]
    except ValueError:
        raise ValueError(f"--prefer-racks takes rack ids (numbers, comma-separated), not {text!r}") from None


@dataclass
class TlsOptions:
    """TLS to the nodes (`--tls-*`, and the C tools' camelCase spellings). The official
    client takes them as `client_settings()`, the record streams as `_codec.TlsConfig`."""

    enable: bool = option("--tls-enable", "--tlsEnable", kind="switch", group=TLS, help="connect with TLS")
    #: The name the nodes' certificates carry (else a seed's host:tls-name:port, or its host).
    name: str | None = option("--tls-name", "--tlsName", group=TLS, help="the name the nodes' certificates carry")
    cafile: str | None = option("--tls-cafile", "--tlsCaFile", group=TLS, help="CA certificate file")
    capath: str | None = option("--tls-capath", "--tlsCaPath", group=TLS, help="directory of CA certificates")
    protocols: str | None = option("--tls-protocols", "--tlsProtocols", group=TLS, help="TLS protocol versions")
    cipher_suite: str | None = option("--tls-cipher-suite", "--tlsCipherSuite", group=TLS, help="cipher suites")
    keyfile: str | None = option("--tls-keyfile", "--tlsKeyFile", group=TLS, help="client private key (mutual TLS)")
    #: `env:VAR`, `file:PATH` or the text, as the C tools read it.
    keyfile_password: str | None = option("--tls-keyfile-password", "--tlsKeyFilePassword", group=TLS, help="its password: env:VAR, file:PATH or the text")
    certfile: str | None = option("--tls-certfile", "--tlsCertFile", group=TLS, help="client certificate (mutual TLS)")
    crl_check: bool = option("--tls-crl-check", "--tlsCrlCheck", kind="switch", group=TLS, help="check the leaf certificate against CRLs")
    crl_check_all: bool = option("--tls-crl-check-all", "--tlsCrlCheckAll", kind="switch", group=TLS, help="check the whole chain against CRLs")

    def client_settings(self) -> dict[str, Any]:
        """The official client's `tls` settings (empty without TLS)."""
        if not self.enable:
            return {}
        out: dict[str, Any] = {"enable": True}
        for key in ("cafile", "capath", "protocols", "cipher_suite", "keyfile", "certfile"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.keyfile_password:
            out["keyfile_pw"] = resolve_password(self.keyfile_password)
        if self.crl_check:
            out["crl_check"] = True
        if self.crl_check_all:
            out["crl_check_all"] = True
        return out


@dataclass
class ClusterConfig:
    """How to reach the cluster: the C tools' connection flags. `hosts` is `-h`'s text
    (`host[:tls-name][:port],…`) or a list of (host, port) pairs; `port` is the default
    for hosts without one."""

    hosts: Hosts = option("-h", "--host", default="127.0.0.1", metavar="HOSTS", group=CONNECTION, help="host[:tls-name][:port],… (default 127.0.0.1)")
    port: int = option("-p", "--port", type=int, default=3000, group=CONNECTION, help="port (default 3000)")
    user: str | None = option("-U", "--user", group=CONNECTION, help="user name (Enterprise security)")
    #: None with a user: the command line asks for it on the terminal (`-P` alone, or `-U`
    #: without `-P`); a library call raises PasswordNeeded.
    password: str | None = option("-P", "--password", kind="optional", convert=lambda v: v or None, group=CONNECTION, help="password; -P alone asks for it")
    auth: str = option("-A", "--auth", default="INTERNAL", group=CONNECTION, help="INTERNAL (default), EXTERNAL, EXTERNAL_INSECURE or PKI")
    services_alternate: bool = option("-S", "--services-alternate", kind="switch", group=CONNECTION, help="use the nodes' alternate access addresses")
    prefer_racks: list[int] = option("--prefer-racks", default_factory=list, metavar="IDS", convert=_racks, group=CONNECTION, help="read from these racks first (comma-separated ids)")
    socket_timeout_ms: int = option("--socket-timeout", type=int, default=10_000, metavar="MS", group=CONNECTION, help="socket idle timeout (default 10000)")
    total_timeout_ms: int = option("--total-timeout", type=int, default=0, metavar="MS", group=CONNECTION, help=TOTAL_TIMEOUT_HELP)
    connect_timeout_ms: int = 10_000
    tls: TlsOptions = nested(TlsOptions, prefix="tls_")

    @classmethod
    def of(cls, cluster: ClusterConfig | Hosts) -> ClusterConfig:
        """A library call's `cluster`: a ClusterConfig as it is, or hosts made one."""
        return cluster if isinstance(cluster, ClusterConfig) else cls(hosts=cluster)

    def seeds(self) -> list[tuple[str, int] | tuple[str, int, str]]:
        if isinstance(self.hosts, str):
            return parse_hosts(self.hosts, self.port)
        seeds: list[tuple[str, int] | tuple[str, int, str]] = []
        for item in self.hosts:
            if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
                raise ValueError(f"hosts: {item!r} is not a (host, port) pair")
            seeds.append(tuple(item))  # type: ignore[arg-type]
        if not seeds:
            raise ValueError("no host given")
        return seeds

    def describe(self) -> str:
        """The hosts as `-h` writes them."""
        if isinstance(self.hosts, str):
            return self.hosts
        return ",".join(f"{s[0]}:{s[1]}" for s in self.seeds())


def parse_hosts(text: str, default_port: int = 3000) -> list[Any]:
    """`host[:tls-name][:port],…` (also `[v6]:port`; `;` separates too), as the C tools
    take `-h` and `-l`."""
    out: list[Any] = []
    for item in text.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        tls_name = None
        if item.startswith("["):
            end = item.find("]")
            if end < 0:
                raise ValueError(f"host {item!r}: an IPv6 address needs its closing ]")
            host, rest = item[1:end], item[end + 1 :]
            parts = [p for p in rest.split(":") if p] if rest else []
        else:
            host, *parts = item.split(":")
        port = default_port
        if len(parts) == 1:
            if parts[0].isdigit():
                port = int(parts[0])
            else:
                tls_name = parts[0]
        elif len(parts) == 2:
            tls_name, port_text = parts
            if not port_text.isdigit():
                raise ValueError(f"host {item!r}: the port {port_text!r} is not a number")
            port = int(port_text)
        elif parts:
            raise ValueError(f"host {item!r}: write host[:tls-name][:port]")
        if not host:
            raise ValueError(f"host {item!r} has no address")
        out.append((host, port, tls_name) if tls_name else (host, port))
    if not out:
        raise ValueError("no host given (-h host[:port])")
    return out


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    port: int

    @property
    def addr(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


def _import_aerospike() -> Any:
    try:
        import aerospike
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise AsbClusterError(
            "the official aerospike client is not installed: pip install aerospike"
        ) from exc
    return aerospike


@dataclass(frozen=True)
class WireAccess:
    """How the Rust record streams (`_codec`) reach a node, read by it as is: timeouts,
    credentials (the password's bcrypt; the clear one too for external auth), TLS and the
    name certificates must carry (None: each node's own host)."""

    connect_timeout_ms: int = 10_000
    #: 0: none.
    socket_timeout_ms: int = 10_000
    user: str | None = None
    credential: str | None = None
    clear_password: str | None = None
    tls: _codec.TlsConfig | None = None
    tls_name: str | None = None


class Cluster:
    """A connected cluster. Info commands and the partition map; `close()` when done."""

    def __init__(self, config: ClusterConfig) -> None:
        aerospike = _import_aerospike()
        if config.user and config.password is None:
            raise PasswordNeeded(
                f"user {config.user} needs a password and none was given: set ClusterConfig.password "
                "(on the command line -P/--password, or -P alone to be asked for it)"
            )
        self.config = config
        seeds = config.seeds()
        tls_settings = config.tls.client_settings()
        hosts: list[tuple[Any, ...]]
        if tls_settings:
            # A host's own tls-name wins over --tls-name.
            hosts = [(s[0], s[1], s[2] if len(s) == 3 else config.tls.name or s[0]) for s in seeds]
        else:
            hosts = [s[:2] for s in seeds]
        client_config: dict[str, Any] = {
            "hosts": hosts,
            "policies": {
                "timeout": config.connect_timeout_ms,
                "info": {"timeout": config.socket_timeout_ms or 10_000},
                "auth_mode": _auth_mode(aerospike, config.auth),
            },
            "use_services_alternate": config.services_alternate,
        }
        if config.prefer_racks:
            client_config["rack_aware"] = True
            client_config["rack_ids"] = list(config.prefer_racks)
        if tls_settings:
            client_config["tls"] = tls_settings
        try:
            client = aerospike.client(client_config)
            if config.user:
                client.connect(config.user, config.password or "")
            else:
                client.connect()
        except Exception as exc:
            hint = "check -h/--host and -p/--port, and that the server is up"
            if tls_settings:
                hint += (
                    "; with --tls-enable also the CA, the TLS name, and that the cluster speaks TLS "
                    "(a Community Edition server behind a TLS terminator does not: its nodes cannot name TLS peers)"
                )
            if getattr(exc, "code", None) in LOGIN_REFUSED:
                raise AuthFailed(f"the cluster at {config.describe()} refused the login: {client_message(exc)}", result_code=exc.code) from exc  # type: ignore[attr-defined]
            raise ClusterUnreachable(f"cannot connect to {config.describe()} (port {config.port}): {client_message(exc)}; {hint}") from exc
        self.client = client
        self._credential: str | None = None
        self._no_racks = False
        self._tls: Any = None
        if tls_settings:
            t = tls_settings
            try:
                keyfile = t.get("keyfile")
                if keyfile and t.get("keyfile_pw"):
                    keyfile = decrypted_key_file(keyfile, t["keyfile_pw"])
                self._tls = _codec.TlsConfig(
                    cafile=t.get("cafile"), capath=t.get("capath"), certfile=t.get("certfile"), keyfile=keyfile,
                    protocols=t.get("protocols"), cipher_suites=t.get("cipher_suite"),
                    crl_check=bool(t.get("crl_check")), crl_check_all=bool(t.get("crl_check_all")),
                )
            except Exception:
                client.close()
                raise

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass

    def wire_access(self) -> WireAccess:
        """How the Rust record streams reach the nodes: this connection's timeouts,
        credentials and TLS."""
        tls_name = None
        if self._tls is not None:
            seeds = [s for s in self.config.seeds() if len(s) == 3]
            tls_name = self.config.tls.name or (seeds[0][2] if seeds else None)
        user = credential = clear_password = None
        if self.config.user:
            if self._credential is None:
                self._credential = _codec.hash_password(self.config.password or "")
            user, credential = self.config.user, self._credential
            if self.config.auth.upper().startswith("EXTERNAL"):
                clear_password = self.config.password or ""
        return WireAccess(
            connect_timeout_ms=self.config.connect_timeout_ms,
            socket_timeout_ms=self.config.socket_timeout_ms,
            user=user, credential=credential, clear_password=clear_password, tls=self._tls, tls_name=tls_name,
        )

    def nodes(self) -> list[Node]:
        try:
            raw = self.client.get_node_names()
        except Exception as exc:
            raise AsbClusterError(f"cannot list the cluster's nodes: {client_message(exc)}") from exc
        return [Node(n["node_name"], n["address"], int(n["port"])) for n in raw]

    def info_node(self, command: str, node: Node) -> str:
        try:
            reply = self.client.info_single_node(command, node.name)
        except Exception as exc:
            raise AsbClusterError(
                f"info {command!r} failed: {client_message(exc)}", node=node.addr
            ) from exc
        return _info_value(reply)

    def info_any(self, command: str) -> str:
        """Runs an info command on some node that answers."""
        last: Exception | None = None
        for node in self.nodes():
            try:
                return self.info_node(command, node)
            except AsbClusterError as exc:
                last = exc
        raise last or AsbClusterError("the cluster has no nodes")

    def info_all(self, command: str) -> dict[Node, str]:
        """The command's answer from every node that answers."""
        out: dict[Node, str] = {}
        for node in self.nodes():
            try:
                out[node] = self.info_node(command, node)
            except AsbClusterError:
                continue
        return out

    def build(self) -> str:
        return self.info_any("build").strip()

    def namespaces(self) -> list[str]:
        return [n for n in self.info_any("namespaces").strip().split(";") if n]

    def _replicas(self, namespace: str) -> tuple[dict[int, Node], dict[int, list[tuple[int, Node]]]]:
        """From one `replicas` round: pid → its master (a larger regime wins; partitions
        without a master are absent), and pid → (replica index, node) of every holder."""
        best: dict[int, tuple[int, Node]] = {}
        holders: dict[int, list[tuple[int, Node]]] = {}
        for node, reply in self.info_all("replicas").items():
            regime, held = replica_bitmaps(reply, namespace)
            for index, pids in held:
                for pid in pids:
                    holders.setdefault(pid, []).append((index, node))
                    if index == 0:
                        seen = best.get(pid)
                        if seen is None or regime > seen[0]:
                            best[pid] = (regime, node)
        return {pid: node for pid, (_, node) in best.items()}, holders

    def partition_masters(self, namespace: str) -> dict[int, Node]:
        """pid → the node that masters it now (partitions without a master are absent)."""
        return self._replicas(namespace)[0]

    def partition_readers(self, namespace: str, prefer_racks: list[int]) -> dict[int, Node]:
        """pid → the node to read it from: the first replica on a preferred rack, else the
        master (asbackup's --prefer-racks). Racks are an Enterprise feature: without them
        every partition is read from its master, and the log says so (once)."""
        if not prefer_racks or self._no_racks:
            return self.partition_masters(namespace)
        try:
            racks_reply = self.info_any("racks:")
        except AsbClusterError as exc:
            racks_reply = f"ERROR: {exc.message}"
        rack_of = parse_racks(racks_reply, namespace)
        if rack_of is None:
            log.warning("--prefer-racks: the cluster reports no racks (%s): reading from masters", racks_reply.strip()[:60])
            self._no_racks = True
            return self.partition_masters(namespace)
        masters, holders = self._replicas(namespace)
        by_name = {n.name: n for n in self.nodes()}
        return choose_readers(masters, holders, {by_name[n]: r for n, r in rack_of.items() if n in by_name}, prefer_racks)

    def stable_partition_masters(self, namespace: str, timeout: float = 30.0) -> dict[int, Node]:
        """The partition map once every partition has a master (or the best one when
        `timeout` runs out)."""
        deadline = time.monotonic() + timeout
        while True:
            masters = self.partition_masters(namespace)
            if len(masters) == N_PARTITIONS or time.monotonic() >= deadline:
                return masters
            time.sleep(0.25)

    def object_counts(self, namespace: str, sets: list[str] | None) -> list[tuple[Node, int, int, int]]:
        """Per node: (node, objects of the namespace or of the sets, master objects of the
        namespace, effective replication factor), as asbackup's node table shows them."""
        out = []
        for node, reply in self.info_all(f"namespace/{namespace}").items():
            stats = info_fields(reply)
            objects = int(stats.get("objects", "0") or 0)
            masters = int(stats.get("master_objects", objects) or 0)
            rf = int(stats.get("effective_replication_factor", "1") or 1)
            if sets:
                objects = 0
                for entry in self.info_node(f"sets/{namespace}", node).strip().split(";"):
                    fields = info_fields(entry, ":")
                    if fields.get("set") in sets:
                        objects += int(fields.get("objects", "0") or 0)
            out.append((node, objects, masters, rf))
        return out

    def record_estimate(self, namespace: str, sets: list[str] | None, counts: list[tuple[Node, int, int, int]] | None = None) -> int:
        """Master records of the namespace (or of the sets), for percent and ETA."""
        counts = self.object_counts(namespace, sets) if counts is None else counts
        if not sets:
            return sum(masters for _, _, masters, _ in counts)
        rf = max([1, *(rf for *_, rf in counts)])
        return sum(objects for _, objects, _, _ in counts) // rf


def parse_racks(reply: str, namespace: str) -> dict[str, int] | None:
    """`racks:` → node name → rack id for the namespace; None when the cluster has none."""
    if reply.startswith("ERROR") or "=" not in reply:
        return None
    out: dict[str, int] = {}
    for entry in reply.strip().split(";"):
        fields = entry.split(":")
        if not fields or fields[0] != f"ns={namespace}":
            continue
        for f in fields[1:]:
            key, _, nodes = f.partition("=")
            if key.startswith("rack_") and key[5:].isdigit():
                for n in nodes.split(","):
                    if n:
                        out[n] = int(key[5:])
    return out or None


def replica_bitmaps(reply: str, namespace: str) -> tuple[int, list[tuple[int, list[int]]]]:
    """From a node's `replicas` answer: the regime, and (replica index, partitions it holds
    at that index). Bitmaps are MSB-first; index 0 is the master."""
    for entry in reply.strip().split(";"):
        ns, sep, rest = entry.partition(":")
        if not sep or ns != namespace:
            continue
        parts = rest.split(",")
        if len(parts) < 3:
            continue
        held = []
        for index, b64 in enumerate(parts[2:]):
            bitmap = base64.b64decode(b64)
            held.append((index, [p for p in range(N_PARTITIONS) if bitmap[p >> 3] & (0x80 >> (p & 7))]))
        return int(parts[0]), held
    return 0, []


def choose_readers(
    masters: dict[int, Node], replicas: dict[int, list[tuple[int, Node]]], rack_of: dict[Node, int], prefer: list[int]
) -> dict[int, Node]:
    """For each partition, the first replica (in replica order) on the first preferred rack
    that has one, else its master."""
    out = dict(masters)
    for pid, holders in replicas.items():
        holders = sorted(holders, key=lambda h: h[0])
        for rack in prefer:
            on_rack = [n for _, n in holders if rack_of.get(n) == rack]
            if on_rack:
                out[pid] = on_rack[0]
                break
    return out


def info_fields(text: str, sep: str = ";") -> dict[str, str]:
    """`k=v` pairs of an info answer, split at `sep` (`;` for stats, `:` inside an entry of
    sindex-list or sets, `,` in udf-list); parts without `=` are left out."""
    return dict(kv.split("=", 1) for kv in text.strip().split(sep) if "=" in kv)


def _info_value(reply: str) -> str:
    """`command\\tvalue\\n` → value."""
    line = reply.split("\n", 1)[0] if reply else ""
    return line.split("\t", 1)[1] if "\t" in line else line


def _auth_mode(aerospike: Any, auth: str) -> Any:
    modes = {
        "INTERNAL": "AUTH_INTERNAL",
        "EXTERNAL": "AUTH_EXTERNAL",
        "EXTERNAL_INSECURE": "AUTH_EXTERNAL_INSECURE",
        "PKI": "AUTH_PKI",
    }
    name = modes.get(auth.upper())
    if name is None:
        raise ValueError(f"-A/--auth {auth!r}: use INTERNAL, EXTERNAL, EXTERNAL_INSECURE or PKI")
    return getattr(aerospike, name, 0)


#: Result codes of a refused login, worded as the C tools' documentation words them.
LOGIN_REFUSED = {60: "Invalid username or password", 62: "Invalid username or password", 65: "Invalid username or password", 63: "Password expired"}


def client_message(exc: Exception) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    code = getattr(exc, "code", None)
    if code in LOGIN_REFUSED:
        return f"{LOGIN_REFUSED[code]} (-U/--user, -P/--password; {msg}, code {code})"
    return f"{msg} (code {code})" if code is not None else str(msg)


def decrypted_key_file(path: str, password: str) -> str:
    """An encrypted private key (`--tls-keyfile` with `--tls-keyfile-password`) decrypted
    into a private file the record streams' TLS reads (rustls takes no encrypted keys)."""
    from cryptography.hazmat.primitives import serialization

    try:
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password.encode())
    except OSError as exc:
        raise AsbClusterError(f"--tls-keyfile {path}: {exc.strerror or exc}") from exc
    except (ValueError, TypeError) as exc:
        raise AsbClusterError(f"--tls-keyfile {path} could not be decrypted with --tls-keyfile-password (a wrong password, or not a PEM private key)") from exc
    plain = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return private_file("tls_keyfile", plain)


def resolve_password(value: str | None) -> str | None:
    """`env:VAR`, `file:PATH` or the literal, as the C tools read --tls-keyfile-password."""
    if value is None:
        return None
    if value.startswith("env:"):
        return os.environ.get(value[4:], "")
    if value.startswith("file:"):
        with open(value[5:], encoding="utf-8") as f:
            return f.read().strip()
    return value
