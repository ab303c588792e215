"""Type stubs of the Rust codec (`rust/asb-py`)."""

import builtins
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path
from typing import IO, Literal, Self, TypedDict, final

from asbkit.backing_up.jobs import ScanOrder
from asbkit.backing_up.run import OutputSettings
from asbkit.cluster.client import WireAccess
from asbkit.io.layers import CodecLayers
from asbkit.io.s3 import StoreSettings
from asbkit.restoring.driver import RestoreSettings

__all__ = [
    "__version__", "Header", "Key", "Bin", "Record", "SecondaryIndex", "Udf", "Reader", "Writer", "Summarizer",
    "list_backup_files", "proven_cuts", "s3_configure", "remote_list", "remote_size", "remote_get", "remote_put", "remote_delete", "remote_abort", "file_sha256", "stage_output", "write_synthetic", "compute_digest", "asb_to_jsonl", "jsonl_to_asb",
    "asb_to_asb", "BackupOutput", "BackupJob", "BackupCheckpoint", "TlsConfig", "ScanResult", "scan_partitions", "info",
    "hash_password", "RestoreRun", "BackupSummary", "FileSummary", "SetSummary", "BinSummary",
    "ValueRange", "DeepSummary", "DeepIssue", "RecordFailure", "FileStats", "PartitionProgress",
    "ConvertCounts", "PIECE_SIZE", "DEFAULT_MEMORY_DIGESTS", "CONVERT_PIECE_SIZE",
]

__version__: str

_Source = str | PathLike[str] | IO[bytes]
_Dest = str | PathLike[str] | IO[bytes]
_Cipher = Literal["aes128", "aes256"]


#: A big plain file is read in pieces of about this many bytes (`Summarizer.read_paths`).
PIECE_SIZE: int
#: Digests `validate --deep` holds in memory before they spill to disk.
DEFAULT_MEMORY_DIGESTS: int
#: `convert` reads a big plain file in pieces of about this many bytes.
CONVERT_PIECE_SIZE: int

class _Parts(TypedDict):
    """A split's files: `<prefix>_<NNNNN>.asb`, a new one after `records` records, else
    after `text_bytes` of text."""

    prefix: str | None
    records: int | None
    text_bytes: int | None

class _DeepChecks(TypedDict):
    check_digests: bool
    continue_after_errors: bool
    max_issues: int
    memory_digests: int

@final
class Header:
    version: str
    namespace: str | None
    first_file: bool
    def __new__(cls, namespace: str | bytes | None, first_file: bool = False, version: str | None = None) -> Self: ...

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
    def __new__(cls, source: _Source, *, layers: CodecLayers) -> Self: ...
    def __iter__(self) -> Iterator[Record | SecondaryIndex | Udf]: ...
    def __next__(self) -> Record | SecondaryIndex | Udf: ...

@final
class Writer:
    text_bytes: int
    def __new__(cls, dest: _Dest, header: Header, *, layers: CodecLayers) -> Self: ...
    def write(self, entity: Record | SecondaryIndex | Udf) -> None: ...
    def close(self) -> None:
        """Ends the layers; an `s3://` object appears, whole, only now."""
    def abort(self) -> None:
        """Gives the output up: an `s3://` upload is aborted."""

@final
class Summarizer:
    """Reads backups for validate, inspect and stats: counts, with `detail` statistics, with
    `deep` (its options) digest and duplicate checks."""

    def __new__(cls, detail: bool, deep: _DeepChecks | None) -> Self: ...
    def read(self, source: _Source, *, layers: CodecLayers, progress: Callable[[int], object] | None = None) -> None:
        """Reads one stream to its end; `progress(raw bytes read)` now and then."""
    def read_paths(
        self,
        paths: list[str],
        *,
        threads: int,
        layers: CodecLayers,
        piece_size: int,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        """Reads files on `threads` threads, big plain ones in pieces cut at proven record
        boundaries (one by one when deep checks go on after errors): the result of `read`
        on each in turn."""
    def result(self) -> BackupSummary:
        """The summary (ends the deep checks: call it last)."""

@final
class BackupSummary:
    """What a Summarizer read; the per-set, per-bin, TTL and size figures only with `detail`."""

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
def proven_cuts(path: str | PathLike[str], piece_size: int, *, threads: int) -> list[int]:
    """Where a plain backup file can be cut for readers on other hosts: record boundaries
    about `piece_size` apart, each proven by reading from the start (empty: read it whole)."""
def s3_configure(settings: StoreSettings) -> None:
    """Makes every `s3://` URL of this process go to the store described."""
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

def write_synthetic(path: str | PathLike[str], target_bytes: int, *, seed: int, layers: CodecLayers) -> tuple[int, int]: ...
def compute_digest(set: str | bytes | None, key: Key) -> bytes: ...

#: Filters as `asbkit.commands.Selection.codec_args()` gives them.
_Selection = dict[str, object]

def asb_to_jsonl(
    sources: list[_Source],
    dest: _Dest,
    *,
    layers: CodecLayers,
    selection: _Selection | None,
    pieces: tuple[int, int],
    progress: Callable[[int], object] | None = None,
) -> ConvertCounts:
    """`pieces`: (threads, piece size) for big plain files read in pieces."""
def jsonl_to_asb(
    source: _Source,
    dest: _Dest,
    *,
    layers: CodecLayers,
    selection: _Selection | None,
) -> ConvertCounts:
    """Into a directory: one file per header, named in `files`."""
def asb_to_asb(
    sources: list[_Source],
    dest: str | PathLike[str],
    *,
    parts: _Parts | None,
    layers: CodecLayers,
    selection: _Selection | None,
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
    """Where a backup's files go; shared by every scan of the backup."""

    @staticmethod
    def directory(dir: str | PathLike[str], prefix: str, file_limit: int, settings: OutputSettings) -> BackupOutput:
        """Files `<prefix>_<n>.asb` in `dir`, a new one past `file_limit` bytes."""
    @staticmethod
    def file(path: str | PathLike[str], settings: OutputSettings) -> BackupOutput: ...
    @staticmethod
    def stdout(settings: OutputSettings) -> BackupOutput: ...
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
    output: BackupOutput, job: BackupJob, checkpoint: BackupCheckpoint, order: ScanOrder, access: WireAccess
) -> ScanResult:
    """Scans the order's partitions on its node into `job`'s file, resuming each after its
    last committed digest."""
def info(addr: str, commands: list[str], access: WireAccess) -> list[str]:
    """Runs info commands on one node; the values, in order."""
def hash_password(password: str) -> str: ...
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
        cls, inputs: list[str], ranges: list[tuple[int, int] | None], settings: RestoreSettings, access: WireAccess
    ) -> Self: ...
    def start(self) -> None: ...
    def publish_routes(self, nodes: list[str], masters: list[int | None]) -> None: ...
    def routes_stale(self) -> bool: ...
    def counters(self) -> list[tuple[str, int]]:
        """The record counters now, by name (`asbkit.RestoreCounters`' fields)."""
    def take_metadata(self) -> list[SecondaryIndex | Udf]: ...
    def wait(self, timeout: float) -> bool: ...
    def cancel(self) -> None: ...
    def fatal(self) -> Exception | None: ...
    def failures(self) -> list[RecordFailure]:
        """Records not written (or ignored), the first of them."""

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
