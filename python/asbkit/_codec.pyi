"""Type stubs of the Rust codec (`rust/asb-py`)."""

import builtins
from collections.abc import Callable, Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import IO, Literal, Self, final

__all__ = [
    "__version__", "Header", "Key", "Bin", "Record", "SecondaryIndex", "Udf", "Reader", "Writer", "Scanner",
    "list_backup_files", "proven_cuts", "s3_configure", "remote_list", "remote_size", "remote_get", "remote_put", "remote_delete", "remote_abort", "file_sha256", "stage_output", "write_synthetic", "compute_digest", "asb_to_jsonl", "jsonl_to_asb",
    "asb_to_asb", "BackupOutput", "BackupJob", "BackupCheckpoint", "TlsConfig", "ScanResult", "scan_partitions", "info",
    "hash_password", "count_scan", "RestoreRun", "ScanSummary", "FileSummary", "SetSummary", "BinSummary",
    "ValueRange", "DeepSummary", "DeepIssue", "RestoreCounters", "RecordFailure", "FileStats", "PartitionProgress",
    "ConvertCounts",
]

__version__: str

_Source = str | PathLike[str] | IO[bytes]
_Dest = str | PathLike[str] | IO[bytes]
_Cipher = Literal["aes128", "aes256"]

@final
class Header:
    version: str
    namespace: str | None
    first_file: bool
    def __new__(cls, namespace: str | bytes | None, first_file: bool = False, version: str = ...) -> Self: ...

@final
class Key:
    #: "I" integer, "D" double, "S" string, "B" bytes.
    type: str
    value: int | float | str | bytes
    #: `B!`: raw bytes instead of base64 (asbackup --compact).
    compact: bool
    def __new__(cls, type: str, value: int | float | str | bytes, compact: bool = False) -> Self: ...

@final
class Bin:
    name: str
    #: N Z I D S G, or a blob letter B J C P R H E Y M L.
    type: str
    value: None | bool | int | float | str | bytes
    compact: bool
    def __new__(cls, name: str | bytes, type: str, value: None | bool | int | float | str | bytes, compact: bool = False) -> Self: ...

@final
class Record:
    namespace: str
    set: str | None
    key: Key | None
    digest: bytes
    generation: int
    #: Seconds since 2010-01-01T00:00:00Z; 0 = never expires.
    void_time: int
    bins: list[Bin]
    def __new__(
        cls,
        namespace: str | bytes,
        digest: bytes,
        bins: list[Bin],
        *,
        set: str | bytes | None = None,
        key: Key | None = None,
        generation: int = 1,
        void_time: int = 0,
    ) -> Self: ...

@final
class SecondaryIndex:
    namespace: str
    set: str
    name: str
    #: N bin, L list, K map keys, V map values, S set index.
    index_type: str
    paths: list[tuple[str, str]]
    context: str | None
    expression: str | None
    def __new__(
        cls,
        namespace: str,
        set: str,
        name: str,
        index_type: str,
        paths: list[tuple[str, str]],
        context: str | None = None,
        expression: str | None = None,
    ) -> Self: ...

@final
class Udf:
    name: str
    content: bytes
    udf_type: str
    def __new__(cls, name: str | bytes, content: bytes, udf_type: str = ...) -> Self: ...

@final
class Reader:
    header: Header
    raw_bytes: int
    text_bytes: int
    def __new__(
        cls, source: _Source, *, zstd: bool = False, cipher: _Cipher | None = None, key_material: bytes | None = None
    ) -> Self: ...
    def __iter__(self) -> Iterator[Record | SecondaryIndex | Udf]: ...
    def __next__(self) -> Record | SecondaryIndex | Udf: ...

@final
class Writer:
    text_bytes: int
    def __new__(
        cls,
        dest: _Dest,
        header: Header,
        *,
        zstd: bool = False,
        level: int = 0,
        cipher: _Cipher | None = None,
        key_material: bytes | None = None,
    ) -> Self: ...
    def write(self, entity: Record | SecondaryIndex | Udf) -> None: ...
    def close(self) -> None:
        """Ends the layers; an `s3://` object appears, whole, only now."""
    def abort(self) -> None:
        """Gives the output up: an `s3://` upload is aborted."""

@final
class Scanner:
    def __new__(
        cls,
        detail: bool = False,
        *,
        deep: bool = False,
        check_digests: bool = True,
        continue_after_errors: bool = False,
        max_issues: int = 100,
        memory_digests: int | None = None,
    ) -> Self: ...
    def scan(
        self,
        source: _Source,
        *,
        zstd: bool = False,
        cipher: _Cipher | None = None,
        key_material: bytes | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> None: ...
    def scan_parallel(
        self,
        paths: list[_Source],
        *,
        threads: int = 2,
        zstd: bool = False,
        cipher: _Cipher | None = None,
        key_material: bytes | None = None,
        progress: Callable[[int], object] | None = None,
        piece_size: int = ...,
    ) -> None: ...
    def result(self) -> ScanSummary:
        """The summary (ends the deep checks: call it last)."""

@final
class ScanSummary:
    """What a Scanner read; the per-set, per-bin, TTL and size figures only with `detail`."""

    @property
    def records(self) -> int: ...
    @property
    def text_bytes(self) -> int: ...
    @property
    def raw_bytes(self) -> int: ...
    @property
    def files(self) -> list[FileSummary]: ...
    @property
    def indexes(self) -> list[SecondaryIndex]: ...
    @property
    def udfs(self) -> list[tuple[str, int]]: ...
    @property
    def sets(self) -> list[SetSummary]: ...
    @property
    def record_namespaces(self) -> list[tuple[str, int]]: ...
    @property
    def key_types(self) -> dict[str, int]: ...
    @property
    def bins(self) -> list[BinSummary]: ...
    @property
    def expiry_months(self) -> dict[str, int]: ...
    @property
    def never_expire(self) -> int: ...
    @property
    def expired(self) -> int: ...
    @property
    def void_time(self) -> ValueRange | None: ...
    @property
    def record_size(self) -> ValueRange | None: ...
    @property
    def generation(self) -> ValueRange | None: ...
    @property
    def deep(self) -> DeepSummary | None: ...

@final
class FileSummary:
    @property
    def path(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def namespace(self) -> str | None: ...
    @property
    def first_file(self) -> bool: ...
    @property
    def records(self) -> int: ...
    @property
    def indexes(self) -> int: ...
    @property
    def udfs(self) -> int: ...
    @property
    def text_bytes(self) -> int: ...
    @property
    def first_digest(self) -> bytes | None: ...
    @property
    def last_digest(self) -> bytes | None: ...

@final
class SetSummary:
    @property
    def set(self) -> str | None: ...
    @property
    def records(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def with_key(self) -> int: ...

@final
class BinSummary:
    @property
    def name(self) -> str: ...
    @property
    def counts(self) -> dict[str, int]: ...
    @property
    def min_size(self) -> int: ...
    @property
    def median_size(self) -> int: ...
    @property
    def max_size(self) -> int: ...

@final
class ValueRange:
    @property
    def min(self) -> int: ...
    @property
    def max(self) -> int: ...
    @property
    def count(self) -> int: ...

@final
class DeepSummary:
    @property
    def keys_checked(self) -> int: ...
    @property
    def issue_counts(self) -> dict[str, int]: ...
    @property
    def issues(self) -> list[DeepIssue]: ...

@final
class DeepIssue:
    @property
    def kind(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int | None: ...
    @property
    def column(self) -> int | None: ...
    @property
    def offset(self) -> int | None: ...
    @property
    def message(self) -> str: ...

def list_backup_files(dir: str | PathLike[str]) -> list[str]: ...
def proven_cuts(path: str | PathLike[str], piece_size: int, *, threads: int = 2) -> list[int]:
    """Where a plain backup file can be cut for readers on other hosts: record boundaries
    about `piece_size` apart, each proven by reading from the start (empty: read it whole)."""
def s3_configure(
    *, region: str = "us-east-1", endpoint: str | None = None, access_key: str | None = None,
    secret_key: str | None = None, session_token: str | None = None, allow_proxy: bool = False,
    connect_timeout_ms: int = 1000, read_timeout_s: float = 30.0, part_size: int = 5242880,
    max_uploads: int = 16, max_downloads: int = 32, checksum: str = "none", max_retries: int = 10,
) -> None:
    """Makes every `s3://` URL of this process go to the store described here."""
def remote_list(url: str) -> list[tuple[str, int]]:
    """The objects directly under a URL's prefix: (url, size), sorted."""
def remote_size(url: str) -> int | None: ...
def remote_get(url: str) -> bytes | None: ...
def remote_put(url: str, data: bytes) -> None:
    """One PUT: the object is replaced whole or not at all."""
def remote_delete(url: str) -> None: ...
def remote_abort(url: str, token: bytes) -> None:
    """Aborts the unfinished upload a saved state holds for an object."""
def file_sha256(path: str | PathLike[str]) -> bytes:
    """The SHA-256 of a file or remote object, read in Rust."""
def stage_output(dest: str | PathLike[str]) -> tuple[Path, Path | None]:
    """Where to write `dest`, and the temporary file to rename onto it when complete
    (None: a pipe or device, written in place)."""

def write_synthetic(
    path: str | PathLike[str],
    target_bytes: int,
    *,
    seed: int = 1,
    zstd: bool = False,
    level: int = 0,
    cipher: _Cipher | None = None,
    key_material: bytes | None = None,
) -> tuple[int, int]: ...
def compute_digest(set: str | bytes | None, key: Key) -> bytes: ...

#: Filters as `asbkit.commands.Selection.codec_args()` gives them.
_Selection = dict[str, object]

def asb_to_jsonl(
    sources: list[_Source],
    dest: _Dest,
    *,
    zstd: bool = False,
    cipher: _Cipher | None = None,
    key_material: bytes | None = None,
    selection: _Selection | None = None,
    threads: int | None = None,
    piece_size: int = ...,
    progress: Callable[[int], object] | None = None,
) -> ConvertCounts: ...
def jsonl_to_asb(
    source: _Source,
    dest: _Dest,
    *,
    zstd: bool = False,
    level: int = 0,
    cipher: _Cipher | None = None,
    key_material: bytes | None = None,
    selection: _Selection | None = None,
) -> ConvertCounts:
    """Into a directory: one file per header, named in `files`."""
def asb_to_asb(
    sources: list[_Source],
    dest: str | PathLike[str],
    *,
    prefix: str | None = None,
    split_records: int | None = None,
    split_bytes: int | None = None,
    zstd: bool = False,
    level: int = 0,
    cipher: _Cipher | None = None,
    key_material: bytes | None = None,
    selection: _Selection | None = None,
    progress: Callable[[int], object] | None = None,
) -> ConvertCounts:
    """With a split, the parts (renamed when all succeeded) in `files`; none for a pipe or device."""

@final
class ConvertCounts:
    """What a conversion or copy wrote; `files`: the files it made (a directory's, a
    split's parts; empty for one stream)."""

    @property
    def records(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def indexes(self) -> int: ...
    @property
    def udfs(self) -> int: ...
    @property
    def files(self) -> list[str]: ...

# -- Cluster: the wire layer and the backup output (rust/asb-py/src/wire.rs).

@final
class FileStats:
    """One backup file's account: where it is, its size, records, first and last digest
    and, once complete, its SHA-256 (as a manifest and a saved state hold them)."""

    def __new__(
        cls, name: str, index: int, bytes: int, text_bytes: int, records: int, *,
        first_digest: bytes | None = None, last_digest: bytes | None = None, sha256: bytes | None = None,
        resume: bytes | None = None,
    ) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def text_bytes(self) -> int: ...
    @property
    def records(self) -> int: ...
    @property
    def first_digest(self) -> builtins.bytes | None: ...
    @property
    def last_digest(self) -> builtins.bytes | None: ...
    @property
    def sha256(self) -> builtins.bytes | None:
        """None while the file is open."""
    @property
    def resume(self) -> builtins.bytes | None:
        """A remote object left unfinished: what its store needs to write on."""

@final
class PartitionProgress:
    """Where one partition's scan is: the last record in a committed file, the records
    read, whether it was read to its end."""

    def __new__(cls, pid: int, last: bytes | None, records: int, done: bool) -> Self: ...
    @property
    def pid(self) -> int: ...
    @property
    def last(self) -> bytes | None: ...
    @property
    def records(self) -> int: ...
    @property
    def done(self) -> bool: ...

@final
class BackupOutput:
    def __new__(
        cls,
        kind: str,
        path: str | PathLike[str] | None,
        namespace: str | bytes,
        *,
        prefix: str | None = None,
        file_limit: int = 0,
        first_file: bool = True,
        bytes_per_second: int = 0,
        zstd: bool = False,
        level: int = 0,
        cipher: _Cipher | None = None,
        key_material: bytes | None = None,
        resume: list[FileStats] | None = None,
        sync: bool = True,
    ) -> Self: ...
    def job(self, first_file: bool = False) -> BackupJob: ...
    def files(self) -> list[FileStats]: ...
    def complete_sealed(self) -> None:
        """Completes the remote objects sealed so far (call it once a saved state lists them)."""
    def finish(self) -> list[FileStats]: ...

@final
class BackupJob:
    def write(self, output: BackupOutput, entity: SecondaryIndex | Udf) -> None: ...
    def release(self, output: BackupOutput, checkpoint: BackupCheckpoint) -> None: ...

@final
class BackupCheckpoint:
    def __new__(cls, partitions: list[PartitionProgress] | None = None) -> Self: ...
    def counters(self) -> tuple[int, int]: ...
    def cancel(self) -> None: ...
    def cancelled(self) -> bool: ...
    def partition(self, pid: int) -> PartitionProgress: ...
    def snapshot(self, output: BackupOutput) -> tuple[list[PartitionProgress], list[FileStats]]: ...

@final
class ScanResult:
    """What one node's scan did; `error`: why it ended early (Interrupted,
    BackupOutputFailed or AsbClusterError), not raised."""

    records: int
    text_bytes: int
    unavailable: list[int]
    error: Exception | None

def scan_partitions(
    output: BackupOutput,
    job: BackupJob,
    checkpoint: BackupCheckpoint,
    addr: str,
    namespace: str | bytes,
    partitions: list[int],
    *,
    set: str | bytes | None = None,
    bins: Sequence[str | bytes] | None = None,
    no_bins: bool = False,
    max_records: int = 0,
    records_per_second: int = 0,
    socket_timeout_ms: int = 10_000,
    total_timeout_ms: int = 0,
    connect_timeout_ms: int = 10_000,
    filter_exp: bytes | None = None,
    compact: bool = False,
    user: str | None = None,
    credential: str | None = None,
    clear_password: str | None = None,
    commit_seconds: float = 2.0,
    commit_bytes: int = 33554432,
    tls: TlsConfig | None = None,
    tls_name: str | None = None,
) -> ScanResult: ...
def info(
    addr: str,
    commands: list[str],
    *,
    timeout_ms: int = 10_000,
    user: str | None = None,
    credential: str | None = None,
    clear_password: str | None = None,
    tls: TlsConfig | None = None,
    tls_name: str | None = None,
) -> list[str]: ...
def hash_password(password: str) -> str: ...
def count_scan(
    addr: str,
    namespace: str | bytes,
    partitions: list[int],
    *,
    socket_timeout_ms: int = 10_000,
    tls: TlsConfig | None = None,
    tls_name: str | None = None,
) -> int: ...

@final
class TlsConfig:
    def __new__(
        cls,
        *,
        cafile: str | PathLike[str] | None = None,
        capath: str | PathLike[str] | None = None,
        certfile: str | PathLike[str] | None = None,
        keyfile: str | PathLike[str] | None = None,
        protocols: str | None = None,
        cipher_suites: str | None = None,
        crl_check: bool = False,
        crl_check_all: bool = False,
    ) -> Self: ...

@final
class RestoreRun:
    """A restore (or, with verify=True, a read-back comparison) on its own threads."""

    def __new__(
        cls,
        inputs: list[str],
        *,
        zstd: bool = False,
        cipher: _Cipher | None = None,
        key_material: bytes | None = None,
        expect_namespace: str | None = None,
        write_namespace: str | None = None,
        sets: list[str] | None = None,
        bins: list[str] | None = None,
        no_records: bool = False,
        no_indexes: bool = False,
        no_udfs: bool = False,
        unique: bool = False,
        replace: bool = False,
        no_generation: bool = False,
        extra_ttl: int = 0,
        batch_writes: bool = True,
        batch_size: int = 128,
        max_async_batches: int = 32,
        readers: int = 2,
        writers: int = 8,
        max_retries: int = 5,
        retry_scale_ms: float = 150.0,
        ignore_record_error: bool = False,
        socket_timeout_ms: int = 10_000,
        total_timeout_ms: int = 10_000,
        connect_timeout_ms: int = 10_000,
        tps: int = 0,
        bandwidth: int = 0,
        user: str | None = None,
        credential: str | None = None,
        clear_password: str | None = None,
        tls: TlsConfig | None = None,
        tls_name: str | None = None,
        verify: bool = False,
        ranges: list[tuple[int, int] | None] | None = None,
    ) -> Self: ...
    def start(self) -> None: ...
    def intake_ceiling(self, addr: str) -> tuple[int, float]:
        """The intake ceiling of one node: the inputs encoded first, then only sent
        (records, seconds sending). For benchmarks."""
    def publish_routes(self, nodes: list[str], masters: list[int | None]) -> None: ...
    def routes_stale(self) -> bool: ...
    def counters(self) -> RestoreCounters: ...
    def take_metadata(self) -> list[SecondaryIndex | Udf]: ...
    def wait(self, timeout: float) -> bool: ...
    def cancel(self) -> None: ...
    def fatal(self) -> Exception | None: ...
    def failures(self) -> list[RecordFailure]:
        """Records not written (or ignored), the first of them."""

@final
class RestoreCounters:
    """A restore's (or verify's) record counters at one moment: records read, and by outcome."""

    def __new__(cls, *, read: int = 0, expired: int = 0, skipped: int = 0, err_ignored: int = 0, inserted: int = 0, updated: int = 0, existed: int = 0, fresher: int = 0, failed: int = 0, retries: int = 0, batches: int = 0, same: int = 0, missing: int = 0, different: int = 0, in_flight: int = 0, raw_bytes: int = 0) -> Self: ...
    @property
    def read(self) -> int: ...
    @property
    def expired(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def err_ignored(self) -> int: ...
    @property
    def inserted(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def existed(self) -> int: ...
    @property
    def fresher(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def batches(self) -> int: ...
    @property
    def same(self) -> int: ...
    @property
    def missing(self) -> int: ...
    @property
    def different(self) -> int: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def raw_bytes(self) -> int: ...

@final
class RecordFailure:
    """A record not written (or, with `ignored`, counted as err_ignored)."""

    @property
    def digest(self) -> bytes: ...
    @property
    def set(self) -> str | None: ...
    @property
    def key(self) -> str | None: ...
    @property
    def result_code(self) -> int | None: ...
    @property
    def message(self) -> str: ...
    @property
    def ignored(self) -> bool: ...
