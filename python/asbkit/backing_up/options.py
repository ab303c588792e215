"""asbackup's options, each declared once with its flag (see `asbkit.spec`), and the
combinations asbackup refuses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..cluster.client import CONNECTION
from ..io import s3
from ..io.layers import Layers
from ..io.s3 import S3Options
from ..spec import nested, option

WHAT = "[asbackup] what"
WHERE = "[asbackup] where"
INCREMENTAL = "[asbackup] incremental"
SPEED = "[asbackup] speed"
FORMAT = "[asbackup] file format"


def split_sets(text: str | None) -> list[str]:
    """Comma-separated; a name in ' or \" quotes may hold commas (as asbackup reads -s)."""
    if not text:
        return []
    out, cur, quote = [], "", None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur += ch
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [s for s in out if s]


def _bins(text: str | None) -> list[str]:
    return [b for b in (text or "").split(",") if b]


@dataclass
class BackupOptions:
    """asbackup's options, by their long names (with its defaults)."""

    namespace: str = option("-n", "--namespace", default="", group=WHAT, help="the namespace to back up (required)")
    sets: list[str] = option("-s", "--set", default_factory=list, metavar="SETS", convert=split_sets, group=WHAT, help="only these sets (comma-separated; default all)")
    bin_list: list[str] = option("-B", "--bin-list", default_factory=list, metavar="BINS", convert=_bins, group=WHAT, help="only these bins (comma-separated)")
    no_bins: bool = option("-x", "--no-bins", kind="switch", group=WHAT, help="records' metadata only, no bins")
    no_records: bool = option("-R", "--no-records", kind="switch", group=WHAT, help="no records: indexes and UDFs only")
    no_indexes: bool = option("-I", "--no-indexes", kind="switch", group=WHAT, help="no secondary index definitions")
    no_udfs: bool = option("-u", "--no-udfs", kind="switch", group=WHAT, help="no UDF modules")
    max_records: int = option("-M", "--max-records", type=int, default=0, metavar="N", group=WHAT, help="about N records at most (0: all)")
    estimate: bool = option("-e", "--estimate", kind="switch", group=WHAT, help="estimate the backup's size from a sample; write nothing")
    estimate_samples: int = option("--estimate-samples", type=int, default=10_000, metavar="N", group=WHAT, help="records in the sample (default 10000)")
    directory: str | None = option("-d", "--directory", metavar="DIR", group=WHERE, help="write <prefix>_NNNNN.asb files into DIR")
    output_file: str | None = option("-o", "--output-file", metavar="FILE", group=WHERE, help="write one file (- for stdout)")
    output_file_prefix: str | None = option("-q", "--output-file-prefix", metavar="PREFIX", group=WHERE, help="file name prefix (default: the namespace)")
    file_limit: int = option("-F", "--file-limit", type=int, default=250, metavar="MiB", group=WHERE, help="start a new file past this size (default 250)")
    remove_files: bool = option("-r", "--remove-files", kind="switch", group=WHERE, help="remove the .asb files already in DIR, or FILE")
    remove_artifacts: bool = option("--remove-artifacts", kind="switch", group=WHERE, help="only remove what a backup to DIR or FILE left, then stop")
    continue_from: str | None = option("-c", "--continue", metavar="STATE", group=WHERE, help="continue the interrupted backup saved in STATE")
    state_file_dst: str | None = option("--state-file-dst", metavar="PATH", group=WHERE, help="where an interrupted backup saves its state")
    modified_after: str | None = option("-a", "--modified-after", metavar="TIME", group=INCREMENTAL, help="records written at or after TIME (YYYY-MM-DD[_HH:MM:SS] or HH:MM:SS, local)")
    modified_before: str | None = option("-b", "--modified-before", metavar="TIME", group=INCREMENTAL, help="records written before TIME")
    no_ttl_only: bool = option("--no-ttl-only", kind="switch", group=INCREMENTAL, help="only records that never expire")
    #: base64 of a packed filter expression.
    filter_exp: str | None = option("-f", "--filter-exp", metavar="B64", group=INCREMENTAL, help="base64 of a packed filter expression")
    partition_list: str | None = option("-X", "--partition-list", metavar="LIST", group=INCREMENTAL, help="partitions: begin[-count] or base64 digests, comma-separated")
    after_digest: str | None = option("-D", "--after-digest", metavar="B64", group=INCREMENTAL, help="from this digest's partition, after the digest, to the end")
    node_list: str | None = option("-l", "--node-list", metavar="HOSTS", group=INCREMENTAL, help="the partitions these nodes master (host:port,…)")
    parallel: int | None = option("-w", "--parallel", type=int, metavar="N", group=SPEED, help="partition ranges scanned at once (default 1; 16 with -l)")
    records_per_second: int = option("-L", "--records-per-second", type=int, default=0, metavar="N", group=SPEED, help="scan at most N records/s (0: no limit)")
    #: MiB/s written, at most (0: no limit).
    #: (A fraction of a MiB/s is a share of it: a shard's on Dask.)
    nice: float = option("-N", "--nice", type=int, default=0, metavar="MiB/s", group=SPEED, help="write at most this many MiB/s")
    compact: bool = option("-C", "--compact", kind="switch", group=FORMAT, help="blobs as raw bytes, not base64")
    layers: Layers = nested(Layers)
    s3: S3Options = nested(S3Options)
    max_retries: int = option("--max-retries", type=int, default=5, metavar="N", group=CONNECTION, help="tries of a partition that cannot be read (default 5)")
    #: Milliseconds at least between tries.
    sleep_between_retries: int = option("--sleep-between-retries", "--retry-delay", type=int, default=0, metavar="MS", group=CONNECTION, help="pause between tries (default 0)")
    #: Seconds between saved states (and commits) while running.
    checkpoint_seconds: float = 1.0
    #: Only these partitions, read in -w jobs (a shard of a backup run on many hosts;
    #: empty: as -X/-D/-l say).
    partitions: list[int] = field(default_factory=list)
    #: The directory (or prefix) is shared with other backups (the shards of one run): only
    #: the files named with this backup's prefix are its own, to check, replace or remove.
    shared_directory: bool = False


def check_options(o: BackupOptions) -> None:
    """The combinations asbackup refuses, refused the same way (with the flags named):
    ValueError."""
    s3.check(o.s3)
    if o.remove_artifacts:
        if not (o.directory or o.output_file):
            raise ValueError("--remove-artifacts needs -d/--directory or -o/--output-file")
        return
    if not o.namespace:
        raise ValueError("-n/--namespace is required")
    if o.estimate:
        clash = [f for f, v in (("-d/--directory", o.directory), ("-o/--output-file", o.output_file), ("-w/--parallel", o.parallel), ("-c/--continue", o.continue_from), ("-R/--no-records", o.no_records)) if v]
        if clash:
            raise ValueError(f"-e/--estimate cannot be combined with {', '.join(clash)}")
        if o.estimate_samples < 1:
            raise ValueError("--estimate-samples is at least 1")
        return
    if bool(o.directory) == bool(o.output_file):
        raise ValueError("give exactly one of -d/--directory and -o/--output-file")
    if o.filter_exp and (o.modified_after or o.modified_before or o.no_ttl_only or len(o.sets) > 1):
        raise ValueError(
            "-f/--filter-exp cannot be combined with -a/--modified-after, -b/--modified-before, "
            "--no-ttl-only or more than one set"
        )
    chosen = [f for f, v in (("-X/--partition-list", o.partition_list), ("-D/--after-digest", o.after_digest), ("-l/--node-list", o.node_list)) if v]
    if o.partitions:
        chosen.append("a partition list")
    if len(chosen) > 1:
        raise ValueError(f"{' and '.join(chosen)} are mutually exclusive")
    if any(not 0 <= p < 4096 for p in o.partitions):
        raise ValueError("partitions go from 0 to 4095")
    if o.parallel is not None and not 1 <= o.parallel <= 100:
        raise ValueError("-w/--parallel takes 1 to 100")
    if o.file_limit < 1:
        raise ValueError("-F/--file-limit is at least 1 (MiB)")
    if o.continue_from and o.remove_files:
        raise ValueError("-c/--continue cannot be combined with -r/--remove-files")
    for name in o.bin_list:
        if len(name.encode()) > 15:
            raise ValueError(f"-B/--bin-list: bin name {name!r} is longer than 15 bytes")


#: Options that may change between an interrupted backup and its continuation.
VOLATILE = ("continue_from", "remove_files", "state_file_dst", "checkpoint_seconds", "layers", "s3", "parallel", "records_per_second", "nice", "max_retries", "sleep_between_retries")


def fingerprint(o: BackupOptions) -> dict[str, Any]:
    """The options a continuation must repeat: they decide what is in the files."""
    d = asdict(o)
    for volatile in VOLATILE:
        d.pop(volatile, None)
    return d
