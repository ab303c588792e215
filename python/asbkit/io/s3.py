"""Object storage (`s3://bucket/prefix`): the C tools' `--s3-*` options, credentials found as
AWS tools find them (botocore: environment, shared credentials and config files with
profiles, container and instance roles), and the process's store set up once from them.

The bytes never pass through Python: the Rust store (`asb-store`, on Apache Arrow's
`object_store`) uploads parts and reads ranges; this module only tells it where and how.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import timedelta

import asbkit._codec as _codec

from ..errors import BadOption
from ..spec import option

S3 = "object storage (s3://bucket/prefix wherever a directory or file goes)"

log = logging.getLogger("asbkit.s3")

#: C's --s3-log-level values.
LOG_LEVELS = ("Off", "Fatal", "Error", "Warn", "Info", "Debug", "Trace")
CHECKSUMS = ("none", "sha256", "crc64")


@dataclass
class S3Options:
    """The C tools' S3 options (same names, meanings and defaults), and the payload checksum."""

    s3_region: str | None = option("--s3-region", metavar="REGION", group=S3, help="the bucket's region (default: the profile's, else us-east-1)")
    s3_profile: str | None = option("--s3-profile", metavar="NAME", group=S3, help="the credentials profile (default: AWS_PROFILE, else 'default')")
    s3_endpoint_override: str | None = option("--s3-endpoint-override", metavar="URL", group=S3, help="another S3 service (http://host:port for MinIO, Ceph, …)")
    s3_min_part_size: int = option("--s3-min-part-size", type=int, default=0, metavar="MiB", group=S3, help="upload part size (default max(5 MiB, file limit / 10000))")
    s3_max_async_uploads: int = option("--s3-max-async-uploads", type=int, default=16, metavar="N", group=S3, help="parts uploaded at once (default 16)")
    s3_max_async_downloads: int = option("--s3-max-async-downloads", type=int, default=32, metavar="N", group=S3, help="ranges downloaded at once (default 32)")
    s3_connect_timeout: int = option("--s3-connect-timeout", type=int, default=1000, metavar="MS", group=S3, help="connection timeout (default 1000)")
    s3_log_level: str = option("--s3-log-level", default="Fatal", metavar="LEVEL", group=S3, help="Off, Fatal, Error, Warn, Info, Debug or Trace (default Fatal)")
    s3_allow_system_proxy: bool = option("--s3-allow-system-proxy", kind="switch", group=S3, help="use HTTP(S)_PROXY (ignored by default, as in the C tools)")
    s3_checksum: str = option("--s3-checksum", default="none", metavar="MODE", group=S3, help="payload checksum beside the signed SHA-256: none (Ceph, MinIO), sha256 or crc64")
    s3_read_timeout: float = option("--s3-read-timeout", type=float, default=30.0, metavar="SECONDS", group=S3, help="a request that sends nothing this long is cut and tried again (default 30)")
    s3_max_retries: int = option("--s3-max-retries", type=int, default=10, metavar="N", group=S3, help="tries of a request after the first, with backoff (default 10)")


@dataclass(frozen=True)
class StoreSettings:
    """The process's `s3://` store as the codec takes it (`_codec.s3_configure`): S3Options
    resolved, with the credentials found (None: the store's own chain)."""

    region: str
    endpoint: str | None
    access_key: str | None
    secret_key: str | None
    session_token: str | None
    allow_proxy: bool
    connect_timeout: timedelta
    #: A request that sends nothing this long is cut and tried again.
    read_timeout: timedelta
    part_size: int
    max_uploads: int
    max_downloads: int
    checksum: str
    max_retries: int


def is_url(path: object) -> bool:
    """Whether a path names an object store place (`s3://…`, any case of the scheme)."""
    return isinstance(path, str) and path[:5].lower() == "s3://"


def normalize(path: str) -> str:
    """`S3://b/k` as `s3://b/k` (the C tools take the scheme in any case)."""
    return "s3://" + path[5:] if is_url(path) else path


def check(o: S3Options) -> None:
    if o.s3_min_part_size and o.s3_min_part_size < 5:
        raise BadOption("--s3-min-part-size is at least 5 (MiB): S3's smallest part")
    if o.s3_max_async_uploads < 1 or o.s3_max_async_downloads < 1:
        raise BadOption("--s3-max-async-uploads and --s3-max-async-downloads are at least 1")
    if o.s3_connect_timeout < 1:
        raise BadOption("--s3-connect-timeout is at least 1 (ms)")
    if o.s3_log_level.capitalize() not in LOG_LEVELS:
        raise BadOption(f"--s3-log-level takes {', '.join(LOG_LEVELS)}")
    if o.s3_read_timeout <= 0 or o.s3_max_retries < 0:
        raise BadOption("--s3-read-timeout is above 0 and --s3-max-retries at least 0")
    if o.s3_checksum.lower() not in CHECKSUMS:
        raise BadOption(f"--s3-checksum takes {', '.join(CHECKSUMS)}")


def part_size(o: S3Options, file_limit_mib: int = 0) -> int:
    """C's rule: --s3-min-part-size, else max(5 MiB, file limit / 10,000)."""
    if o.s3_min_part_size:
        return o.s3_min_part_size << 20
    return max(5 << 20, -(-(file_limit_mib << 20) // 10_000))


_lock = threading.Lock()
_configured: tuple[S3Options, int] | None = None


def _credentials(o: S3Options) -> tuple[str | None, str | None, str | None, str | None]:
    """(access key, secret key, session token, region) as the AWS tools find them."""
    try:
        import botocore.session
        from botocore.exceptions import BotoCoreError
    except ImportError:  # pragma: no cover - botocore is a dependency
        env = os.environ
        return env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY"), env.get("AWS_SESSION_TOKEN"), env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    profile = o.s3_profile or os.environ.get("AWS_PROFILE")
    try:
        session = botocore.session.Session(profile=profile)
        creds = session.get_credentials()
        region = session.get_config_variable("region")
    except BotoCoreError as exc:
        raise BadOption(f"S3 credentials: {exc} (check --s3-profile and ~/.aws/config)") from None
    if creds is None:
        return None, None, None, region
    frozen = creds.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token, region


def configure(o: S3Options | None = None, *, file_limit_mib: int = 0) -> None:
    """Sets up the process's `s3://` store from `o` (defaults when None). Called by the
    commands before any `s3://` path is touched; library users call it to choose options,
    else the first `s3://` path sets it up with the defaults."""
    global _configured
    o = o or S3Options()
    check(o)
    size = part_size(o, file_limit_mib)
    with _lock:
        if _configured == (o, size):
            return
        access, secret, token, region = _credentials(o)
        endpoint = o.s3_endpoint_override or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint and "://" not in endpoint:
            endpoint = "https://" + endpoint
        _codec.s3_configure(StoreSettings(
            region=o.s3_region or region or "us-east-1",
            endpoint=endpoint,
            access_key=access,
            secret_key=secret,
            session_token=token,
            allow_proxy=o.s3_allow_system_proxy,
            connect_timeout=timedelta(milliseconds=o.s3_connect_timeout),
            read_timeout=timedelta(seconds=o.s3_read_timeout),
            part_size=size,
            max_uploads=o.s3_max_async_uploads,
            max_downloads=o.s3_max_async_downloads,
            checksum=o.s3_checksum.lower(),
            max_retries=o.s3_max_retries,
        ))
        _configured = (o, size)
        if o.s3_log_level.capitalize() in ("Info", "Debug", "Trace"):
            log.info("S3: endpoint %s, region %s, part size %d MiB, %d uploads, %d downloads", endpoint or "AWS", o.s3_region or region or "us-east-1", size >> 20, o.s3_max_async_uploads, o.s3_max_async_downloads)


def ensure(*paths: object) -> None:
    """Sets up the store with the defaults if one of `paths` is a URL and none is set up."""
    if _configured is None and any(is_url(p) for p in paths):
        configure()
