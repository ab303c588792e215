"""The flags of the commands that talk to a cluster beyond their declared options: the C
tools' compatibility flags (accepted and said, or refused), the Secret Agent, the
configuration files; and reading a command's ClusterConfig and options from them. The
C tools spell them so (`-h` is the host there, so help is `--help`, `-Z` or `--usage`)."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..cluster.client import TLS, ClusterConfig
from ..errors import AsbError
from .config import add_config_options
from .flags import Extra, FieldsOf, FlagBuilder, OptionError, build, extra
from .secret_agent import add_secret_agent_options

#: TLS flags the C tools keep for old scripts.
TLS_COMPAT = (
    extra("--tls-cert-blacklist", "--tlsCertBlackList", "--tls-cert-blackList", dest="tls_cert_blacklist", metavar="PATH", group=TLS, help="deprecated in the C tools; accepted, without effect (use --tls-crl-check)"),
    extra("--tls-log-session-info", "--tlsLogSessionInfo", action="store_true", group=TLS, help="accepted for the C tools' scripts; without effect"),
    extra("--tlsEncryptOnly", dest="tls_encrypt_only", action="store_true", group=TLS, help="refused, as the C tools refuse it"),
)


def add_cluster_flags(b: FlagBuilder, options: type, retries: Iterable[Extra | FieldsOf], extras: Iterable[Extra | FieldsOf] = ()) -> None:
    """The connection flags (with the command's `retries` flags after --total-timeout, as
    the C tools' help has them), TLS (and its compatibility flags), Secret Agent,
    configuration files, then the command's own declared `options` (with their S3 flags)
    with `extras`."""
    b.declared(ClusterConfig, [*TLS_COMPAT, *(FieldsOf(r.cls, r.names, "total_timeout_ms") if isinstance(r, FieldsOf) else Extra(r.names, r.kwargs, r.group, "total_timeout_ms") for r in retries)])
    add_secret_agent_options(b.parser)
    add_config_options(b.parser)
    b.declared(options, extras)


T = TypeVar("T")


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


def cluster_config_from(args: argparse.Namespace, command: str) -> ClusterConfig:
    return build(ClusterConfig, args, command)


def with_password(config: ClusterConfig) -> ClusterConfig:
    """`config` with the password of a user given without one (-U alone, or -P without a
    value) asked for on the terminal, as the C tools ask, before the library call that
    connects (the library never asks: it raises PasswordNeeded); a copy, `config` is
    left as it is."""
    if config.user and config.password is None:
        return dataclasses.replace(config, password=getpass.getpass(f"Password for {config.user}: "))
    return config


def compatibility_notes(args: argparse.Namespace) -> list[str]:
    """What flags accepted only for the C tools' scripts do (nothing, said); raises
    ValueError for those asbkit cannot honour, so none is silently ignored."""
    if getattr(args, "tls_encrypt_only", False):
        raise ValueError("--tlsEncryptOnly is not supported (the C tools refuse it too): give --tls-cafile or --tls-capath")
    notes = []
    if getattr(args, "tls_cert_blacklist", None):
        notes.append("--tls-cert-blacklist is deprecated (as in the C tools) and has no effect: use --tls-crl-check")
    if getattr(args, "tls_log_session_info", False):
        notes.append("--tls-log-session-info is accepted for the C tools' scripts and has no effect")
    return notes
