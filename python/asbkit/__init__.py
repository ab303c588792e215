"""asbkit: Aerospike backups (`.asb`) as a Python library, with a Rust codec and wire layer.

The file side reads, writes, checks and converts backups; the cluster side backs up,
restores and verifies against a live cluster. Every call takes typed options, returns a
typed report and raises typed exceptions (each carrying the report so far as `.report`).

    import asbkit

    report = asbkit.backup("127.0.0.1:3000", namespace="test", directory="/backups/test")
    asbkit.validate("/backups/test", deep=True)
    asbkit.restore("10.0.0.2:3000", directory="/backups/test")
    for entity in asbkit.read_backup("/backups/test"):
        ...

Runs bigger than one host go on a Dask cluster with `asbkit.sharded` (`backup`, `restore`,
`verify`, each taking a `distributed.Client` first; `pip install 'asbkit[dask]'`).
"""

from ._codec import Bin, Header, Key, Record, SecondaryIndex, Udf, __version__, compute_digest
from .backing_up import BackupFile, BackupOptions, BackupReport, Estimate, backup
from .check import DeepReport, Finding, InspectReport, StatsReport, ValidateReport, inspect, stats, validate
from .cluster import ClusterConfig, TlsOptions
from .control import BackupProgress, Cancel, RestoreCounters, RestoreProgress
from .errors import (
    AsbClusterError,
    AsbError,
    AsbKeyError,
    AsbLayerError,
    AsbParseError,
    AsbWriteError,
    AuthFailed,
    BackupFailed,
    BackupOutputFailed,
    BadInput,
    BadOption,
    ClusterUnreachable,
    DaskFailed,
    InputUnreadable,
    Interrupted,
    NamespaceNotFound,
    OutputExists,
    PasswordNeeded,
    PermissionDenied,
    RecordsFailed,
    RestoreFailed,
)
from .io import BackupReader, BackupWriter, Layers, read_backup
from .restoring import Difference, Failure, RestoreOptions, RestoreReport, VerifyReport, restore, verify
from .transform import ConvertReport, FilterReport, Selection, convert, filter_backup, split_backup

__all__ = [
    "__version__",
    # file side
    "BackupReader", "BackupWriter", "Bin", "Header", "Key", "Layers", "Record", "SecondaryIndex", "Udf",
    "compute_digest", "read_backup",
    "validate", "inspect", "stats", "ValidateReport", "DeepReport", "Finding", "InspectReport", "StatsReport",
    "convert", "filter_backup", "split_backup", "Selection", "ConvertReport", "FilterReport",
    # cluster side
    "ClusterConfig", "TlsOptions", "Cancel", "BackupProgress", "RestoreProgress", "RestoreCounters",
    "backup", "BackupOptions", "BackupReport", "BackupFile", "Estimate",
    "restore", "verify", "RestoreOptions", "RestoreReport", "Failure", "VerifyReport", "Difference",
    # errors
    "AsbError", "AsbParseError", "AsbLayerError", "AsbKeyError", "AsbWriteError", "AsbClusterError",
    "ClusterUnreachable", "DaskFailed", "AuthFailed", "PermissionDenied", "NamespaceNotFound", "BadOption", "BadInput",
    "InputUnreadable", "OutputExists", "PasswordNeeded", "Interrupted", "RecordsFailed", "BackupFailed", "BackupOutputFailed",
    "RestoreFailed",
]
