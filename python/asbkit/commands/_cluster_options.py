"""Connection flags shared by the commands that talk to a cluster, spelled as the C tools
spell them (`-h` is the host there, so help is `--help`, `-Z` or `--usage`)."""

from __future__ import annotations

import argparse
import logging
from typing import Any, Callable, TypeVar

from ..cluster import ClusterConfig, resolve_password
from ..errors import AsbError
from ._options import OptionError
from ..config import add_config_options
from ..secret_agent import add_secret_agent_options


class _OptionalPassword(argparse.Action):
    """`-P` alone prompts; `-P pw` / `--password=pw` gives it."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values if values is not None else "")


#: How the timeout and retry flags read for what a command sends: backup's scans, or the
#: writes (restore) and reads (verify) of record batches.
RETRY_WORDS = {
    "scan": ("total scan timeout (default 0: none)", "tries of a partition that cannot be read (default 5)", "pause between tries (default 0)"),
    "write": (
        "total timeout of a batch write (default 0: -T/--timeout)", "retries of a batch whose write failed (default 5)",
        "accepted for asrestore's scripts, without effect: --retry-scale-factor sets the pauses",
    ),
    "read": (
        "total timeout of a batch read (default 0: -T/--timeout)", "retries of a batch whose read failed (default 5)",
        "accepted, without effect: --retry-scale-factor sets the pauses",
    ),
}


def add_connection_options(p: argparse.ArgumentParser, sends: str = "scan") -> None:
    """`sends`: what the command's timeouts and retries are about (a RETRY_WORDS key)."""
    total_help, retries_help, sleep_help = RETRY_WORDS[sends]
    g = p.add_argument_group("[cluster] connection (as the C tools take it)")
    g.add_argument("-h", "--host", default="127.0.0.1", metavar="HOSTS", help="host[:tls-name][:port],… (default 127.0.0.1)")
    g.add_argument("-p", "--port", type=int, default=3000, help="port (default 3000)")
    g.add_argument("-U", "--user", help="user name (Enterprise security)")
    g.add_argument("-P", "--password", nargs="?", action=_OptionalPassword, help="password; -P alone asks for it")
    g.add_argument("-A", "--auth", default="INTERNAL", help="INTERNAL (default), EXTERNAL, EXTERNAL_INSECURE or PKI")
    g.add_argument("-S", "--services-alternate", action="store_true", help="use the nodes' alternate access addresses")
    g.add_argument("--prefer-racks", metavar="IDS", help="read from these racks first (comma-separated ids)")
    g.add_argument("--socket-timeout", type=int, default=10_000, metavar="MS", help="socket idle timeout (default 10000)")
    g.add_argument("--total-timeout", type=int, default=0, metavar="MS", help=total_help)
    g.add_argument("--max-retries", type=int, default=5, metavar="N", help=retries_help)
    g.add_argument("--sleep-between-retries", "--retry-delay", type=int, default=0, metavar="MS", help=sleep_help)
    t = p.add_argument_group("[cluster] TLS")
    t.add_argument("--tls-enable", "--tlsEnable", action="store_true", help="connect with TLS")
    t.add_argument("--tls-name", "--tlsName", help="the name the nodes' certificates carry")
    t.add_argument("--tls-cafile", "--tlsCaFile", help="CA certificate file")
    t.add_argument("--tls-capath", "--tlsCaPath", help="directory of CA certificates")
    t.add_argument("--tls-protocols", "--tlsProtocols", help="TLS protocol versions")
    t.add_argument("--tls-cipher-suite", "--tlsCipherSuite", help="cipher suites")
    t.add_argument("--tls-keyfile", "--tlsKeyFile", help="client private key (mutual TLS)")
    t.add_argument("--tls-keyfile-password", "--tlsKeyFilePassword", help="its password: env:VAR, file:PATH or the text")
    t.add_argument("--tls-certfile", "--tlsCertFile", help="client certificate (mutual TLS)")
    t.add_argument("--tls-crl-check", "--tlsCrlCheck", action="store_true", help="check the leaf certificate against CRLs")
    t.add_argument("--tls-crl-check-all", "--tlsCrlCheckAll", action="store_true", help="check the whole chain against CRLs")
    t.add_argument("--tls-cert-blacklist", "--tlsCertBlackList", "--tls-cert-blackList", dest="tls_cert_blacklist", metavar="PATH", help="deprecated in the C tools; accepted, without effect (use --tls-crl-check)")
    t.add_argument("--tls-log-session-info", "--tlsLogSessionInfo", action="store_true", help="accepted for the C tools' scripts; without effect")
    t.add_argument("--tlsEncryptOnly", dest="tls_encrypt_only", action="store_true", help="refused, as the C tools refuse it")
    add_secret_agent_options(p)
    add_config_options(p)
    s3 = p.add_argument_group("object storage (the C tools' S3 flags: not supported yet, refused when given)")
    for flag in S3_FLAGS:
        if flag == "--s3-allow-system-proxy":
            s3.add_argument(flag, action="store_true", help="refused: S3 is not supported yet")
        else:
            s3.add_argument(flag, metavar="VALUE", help="refused: S3 is not supported yet")


T = TypeVar("T")

#: C asbackup's and asrestore's S3 flags.
S3_FLAGS = (
    "--s3-region", "--s3-profile", "--s3-endpoint-override", "--s3-max-async-downloads", "--s3-log-level",
    "--s3-connect-timeout", "--s3-allow-system-proxy", "--s3-min-part-size", "--s3-max-async-uploads",
)


def options_from_flags(args: argparse.Namespace, options_from: Callable[[argparse.Namespace], tuple[ClusterConfig, T]], check: Callable[[T], None], log: logging.Logger) -> tuple[ClusterConfig, T]:
    """A cluster command's configuration and options from its flags. Flags that cannot be
    used, or not together, are a bad command line (OptionError: exit 2), as in the C tools;
    flags kept only for the C tools' scripts say so in the log."""
    try:
        config, options = options_from(args)
        check(options)
        for note in compatibility_notes(args):
            log.info("%s", note)
    except (AsbError, ValueError) as exc:
        raise OptionError(exc) from None
    return config, options


def compatibility_notes(args: argparse.Namespace) -> list[str]:
    """What flags accepted only for the C tools' scripts do (nothing, said); raises
    ValueError for those asbkit cannot honour, so none is silently ignored."""
    used_s3 = [f for f in S3_FLAGS if getattr(args, f[2:].replace("-", "_"), None) not in (None, False)]
    if used_s3:
        raise ValueError(f"{', '.join(used_s3)}: object storage (S3) is not supported yet; write to a directory and copy it")
    if getattr(args, "tls_encrypt_only", False):
        raise ValueError("--tlsEncryptOnly is not supported (the C tools refuse it too): give --tls-cafile or --tls-capath")
    notes = []
    if getattr(args, "tls_cert_blacklist", None):
        notes.append("--tls-cert-blacklist is deprecated (as in the C tools) and has no effect: use --tls-crl-check")
    if getattr(args, "tls_log_session_info", False):
        notes.append("--tls-log-session-info is accepted for the C tools' scripts and has no effect")
    return notes


def cluster_config_from(args: argparse.Namespace) -> ClusterConfig:
    tls: dict[str, Any] = {}
    if args.tls_enable:
        tls = {"enable": True}
        for key, value in (
            ("cafile", args.tls_cafile), ("capath", args.tls_capath), ("protocols", args.tls_protocols),
            ("cipher_suite", args.tls_cipher_suite), ("keyfile", args.tls_keyfile),
            ("certfile", args.tls_certfile),
        ):
            if value:
                tls[key] = value
        if args.tls_keyfile_password:
            tls["keyfile_pw"] = resolve_password(args.tls_keyfile_password)
        if args.tls_crl_check:
            tls["crl_check"] = True
        if args.tls_crl_check_all:
            tls["crl_check_all"] = True
    racks = [int(r) for r in args.prefer_racks.split(",") if r] if args.prefer_racks else []
    return ClusterConfig(
        hosts=args.host,
        port=args.port,
        user=args.user,
        password=args.password or None,
        auth=args.auth,
        services_alternate=args.services_alternate,
        tls_name=args.tls_name,
        prefer_racks=racks,
        socket_timeout_ms=args.socket_timeout,
        total_timeout_ms=args.total_timeout,
        tls=tls,
    )
