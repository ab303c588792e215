"""asrestore's options, each declared once with its flag (see `asbkit.spec`; `verify`
takes a part of them), the combinations asrestore refuses, and the inputs they name."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import asbkit._codec as _codec

from ..cluster.client import CONNECTION
from ..errors import BadInput, BadOption, InputUnreadable
from ..io import s3
from ..io.files import backup_files
from ..io.layers import Layers
from ..io.s3 import S3Options
from ..spec import nested, option

log = logging.getLogger("asbkit.restore")

INPUT = {"restore": "[asrestore] input", "verify": "input (as asrestore takes it)"}
WHAT = {"restore": "[asrestore] what", "verify": "what (as the restore was made)"}
POLICY = "[asrestore] write policy"
SPEED = {"restore": "[asrestore] speed", "verify": "speed"}
RESTORE_ONLY = ["restore"]


def _comma_list(text: str | None) -> list[str]:
    return [s for s in (text or "").split(",") if s]


@dataclass
class RestoreOptions:
    """asrestore's options, by their long names (with its defaults)."""

    #: Write (read) and info timeout when --total-timeout is 0.
    timeout_ms: int = option(
        "-T", "--timeout", type=int, default=10_000, metavar="MS", group=None,
        help={"restore": "write and info timeout when --total-timeout is 0 (default 10000)", "verify": "read timeout when --total-timeout is 0 (default 10000)"},
    )
    directory: str | None = option("-d", "--directory", metavar="DIR", group=INPUT, help={"restore": "restore every .asb file in DIR", "verify": "the .asb files in DIR"})
    #: A file, `-` for stdin, or asrestore's `-:BYTES` (stdin with its size, for progress).
    input_file: str | None = option("-i", "--input-file", metavar="FILE", group=INPUT, help={"restore": "restore one file (- for stdin)", "verify": "one file (- for stdin)"})
    directory_list: list[str] = option(
        "--directory-list", default_factory=list, metavar="DIRS", convert=_comma_list, group=INPUT,
        help={"restore": "restore the .asb files of these directories (comma-separated)", "verify": "the .asb files of these directories (comma-separated)"},
    )
    parent_directory: str | None = option("--parent-directory", metavar="DIR", group=INPUT, help="the directory --directory-list's names are in")
    #: `A` (check) or `A,B` (write A's records into B).
    namespace: str | None = option(
        "-n", "--namespace", metavar="A[,B]", group=WHAT,
        help={"restore": "the backup's namespace A; with B, write it into B", "verify": "the backup's namespace A; with B, compare with B"},
    )
    sets: list[str] = option("-s", "--set-list", default_factory=list, metavar="SETS", convert=_comma_list, group=WHAT, help="only these sets (comma-separated)")
    bin_list: list[str] = option(
        "-B", "--bin-list", default_factory=list, metavar="BINS", convert=_comma_list, group=WHAT,
        help={"restore": "only these bins (comma-separated)", "verify": "only these bins (comma-separated); other bins on the cluster are not compared"},
    )
    no_records: bool = option("-R", "--no-records", kind="switch", contexts=RESTORE_ONLY, group=WHAT, help="no records: indexes and UDFs only")
    no_indexes: bool = option("-I", "--no-indexes", kind="switch", contexts=RESTORE_ONLY, group=WHAT, help="no secondary indexes")
    no_udfs: bool = option("-F", "--no-udfs", kind="switch", contexts=RESTORE_ONLY, group=WHAT, help="no UDFs")
    indexes_last: bool = option("-L", "--indexes-last", kind="switch", contexts=RESTORE_ONLY, group=WHAT, help="create the indexes after the records")
    wait: bool = option("-w", "--wait", kind="switch", contexts=RESTORE_ONLY, group=WHAT, help="wait for index builds and UDFs on every node")
    unique: bool = option("-u", "--unique", kind="switch", contexts=RESTORE_ONLY, group=POLICY, help="only new records: never touch existing ones")
    replace: bool = option("-r", "--replace", kind="switch", contexts=RESTORE_ONLY, group=POLICY, help="replace whole records (drop bins the backup lacks)")
    no_generation: bool = option("-g", "--no-generation", kind="switch", contexts=RESTORE_ONLY, group=POLICY, help="write whatever the generation on the cluster")
    ignore_record_error: bool = option("--ignore-record-error", kind="switch", contexts=RESTORE_ONLY, group=POLICY, help="count records the server rejects (too big, bad bin name…) and go on")
    extra_ttl: int = option(
        "--extra-ttl", type=int, default=0, metavar="S", group={"restore": POLICY, "verify": WHAT["verify"]},
        help={"restore": "add S seconds to every expiring record's TTL", "verify": "the --extra-ttl the restore had (records expired by then are not looked for)"},
    )
    parallel: int = option(
        "-t", "--parallel", "--threads", names_by_command={"verify": ("-t", "--parallel")}, type=int, default=20, metavar="N", group=SPEED,
        help={"restore": "batches written at once (default 20)", "verify": "batches read at once (default 20)"},
    )
    disable_batch_writes: bool = option("--disable-batch-writes", kind="switch", contexts=RESTORE_ONLY, group=SPEED, help="write records one by one (servers without batch writes)")
    #: 128 with batch writes, 16 without (None: that default).
    batch_size: int | None = option(
        "--batch-size", type=int, metavar="N", group=SPEED, flag_default={"verify": 128, "*": None},
        help={"restore": "records per batch (default 128; 16 without batch writes)", "verify": "records per batch read (default 128)"},
    )
    max_async_batches: int = option("--max-async-batches", type=int, default=32, metavar="N", contexts=RESTORE_ONLY, group=SPEED, help="batches queued for writing (default 32)")
    #: The first retry pause (doubled each retry), in microseconds as asrestore takes it.
    retry_scale_factor_us: int = option("--retry-scale-factor", type=int, default=150_000, metavar="µs", group=SPEED, help="first retry pause, doubled each retry (default 150000)")
    layers: Layers = nested(Layers)
    s3: S3Options = nested(S3Options)
    max_retries: int = option(
        "--max-retries", type=int, default=5, metavar="N", group=CONNECTION,
        help={"restore": "retries of a batch whose write failed (default 5)", "verify": "retries of a batch whose read failed (default 5)"},
    )
    #: Backup MiB/s read and records/s written, at most (0: no limit): asrestore's `-N`
    #: (a fraction of a MiB/s for a share of it).
    bandwidth_mib: float = 0
    tps: int = 0
    #: These backup files (paths or `s3://` URLs) instead of -d/-i/--directory-list: a
    #: piece of a restore run on many hosts, or a caller's own list.
    files: list[str] = field(default_factory=list)
    #: For each of `files`, `(start, stop)`: a piece of a plain file cut at proven record
    #: boundaries (`_codec.proven_cuts`), or None for the whole file (empty: all whole).
    file_ranges: list[tuple[int, int] | None] = field(default_factory=list)

    @property
    def rename(self) -> tuple[str, str] | None:
        """`-n A,B`: (A, B), the backup's namespace and the one written; None otherwise."""
        if self.namespace and "," in self.namespace:
            old, new = self.namespace.split(",", 1)
            return old, new
        return None


def check_options(o: RestoreOptions) -> None:
    """The combinations asrestore refuses, refused the same way (with the flags named)."""
    s3.check(o.s3)
    given = [f for f, v in (("-d/--directory", o.directory), ("-i/--input-file", o.input_file), ("--directory-list", o.directory_list), ("files", o.files)) if v]
    if len(given) != 1:
        raise ValueError("give exactly one of -d/--directory, -i/--input-file and --directory-list")
    if o.file_ranges and len(o.file_ranges) != len(o.files):
        raise ValueError("file_ranges: one (start, stop) or None for each of files")
    if o.parent_directory and not o.directory_list:
        raise ValueError("--parent-directory goes with --directory-list")
    if o.unique and (o.replace or o.no_generation):
        raise ValueError("-u/--unique cannot be combined with -r/--replace or -g/--no-generation")
    if o.namespace is not None and not 1 <= len(o.namespace.split(",")) <= 2:
        raise ValueError("-n/--namespace takes A or A,B")
    if not 1 <= o.parallel <= 4096:
        raise ValueError("-t/--parallel takes 1 to 4096")
    if o.batch_size is not None and o.batch_size < 1:
        raise ValueError("--batch-size is at least 1")
    if not 0 <= o.extra_ttl <= 2**31 - 1:
        raise ValueError("--extra-ttl takes 0 to 2147483647 seconds")
    for name in o.bin_list:
        if not 0 < len(name.encode()) <= 15:
            raise ValueError(f"-B/--bin-list: bin name {name!r} is not 1 to 15 bytes")
    for name in o.sets:
        if not 0 < len(name.encode()) <= 63:
            raise ValueError(f"-s/--set-list: set name {name!r} is not 1 to 63 bytes")


def stdin_size(input_file: str | None) -> int | None:
    """The size a `-:BYTES` input gives for stdin (0 for a bare `-`), else None."""
    if input_file == "-":
        return 0
    if input_file and input_file.startswith("-:"):
        try:
            return max(int(input_file[2:]), 0)
        except ValueError:
            raise BadOption(f"-i {input_file}: after '-:' comes the input's size in bytes") from None
    return None


def under_parent(parent: str | None, entry: str) -> str:
    """A --directory-list entry under --parent-directory, joined as asrestore joins them:
    as text, with a `/` between only when neither side has one (`/backups` and `/b` give
    `/backups/b`, not `/b`)."""
    if not parent:
        return entry
    if parent.endswith("/") or entry.startswith("/"):
        return parent + entry
    return f"{parent}/{entry}"


def input_files(o: RestoreOptions) -> list[str]:
    """The files to restore: a directory's `*.asb` files (sorted), several directories', or
    one file (`-` for stdin; asrestore's `-:BYTES` is stdin with its size, for progress)."""
    if o.files:
        return list(o.files)
    if o.input_file:
        return ["-"] if stdin_size(o.input_file) is not None else [o.input_file]
    dirs = [o.directory] if o.directory else [under_parent(o.parent_directory, d) for d in o.directory_list]
    files: list[str] = []
    for d in dirs:
        found = backup_files(d, "check -d/--directory")
        log.info("Found %d backup file(s) in %s", len(found), d)
        files += found
    return files


def check_inputs(files: list[str], o: RestoreOptions) -> list[str | None]:
    """Opens every file with the given layers and reads its header before anything is
    written; their namespaces (None when a file does not say)."""
    namespaces: list[str | None] = []
    expected = (o.rename[0] if o.rename else o.namespace) or None
    for f in files:
        if f == "-":
            namespaces.append(None)
            continue
        try:
            reader = _codec.Reader(f, layers=o.layers.codec_args())
        except OSError as exc:
            # As an unlistable -d is: one code for an input that cannot be read.
            raise InputUnreadable(f"cannot read the file: {exc.strerror or exc}", path=f) from exc
        ns = reader.header.namespace
        if expected is not None and ns is not None and ns != expected:
            raise BadInput(
                f"the file holds namespace {ns!r}, not {expected!r}: give -n {ns} (or -n {ns},NEW to write it into NEW)", path=f
            )
        namespaces.append(ns)
    return namespaces


def prepare(o: RestoreOptions, report: Any) -> tuple[list[str], list[str | None]]:
    """Checks the options and opens every input: its files and their namespaces."""
    check_options(o)
    urls = [p for p in (o.input_file, o.directory, o.parent_directory, *o.directory_list, *o.files) if p and s3.is_url(p)]
    for url in urls:
        if not url[5:] or url[5:].startswith("/"):
            raise BadOption(f"{url} names no bucket; write s3://BUCKET/PREFIX")
    if urls:
        s3.configure(o.s3)
    files = input_files(o)
    report.files = files
    return files, check_inputs(files, o)


