"""asbkit: Aerospike backup (`.asb`) files, read and written by a Rust codec.

    import asbkit
    for entity in asbkit.read_backup("backup_dir", asbkit.Layers(compress="zstd")):
        if isinstance(entity, asbkit.Record):
            ...
"""

from importlib.metadata import PackageNotFoundError, version

from ._codec import Bin, Header, Key, Record, SecondaryIndex, Udf, compute_digest
from .backup import BackupReader, BackupWriter, read_backup
from .errors import AsbError, AsbKeyError, AsbLayerError, AsbParseError, AsbWriteError
from .layers import Layers

try:
    __version__ = version("asbkit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AsbError",
    "AsbKeyError",
    "AsbLayerError",
    "AsbParseError",
    "AsbWriteError",
    "BackupReader",
    "BackupWriter",
    "Bin",
    "Header",
    "Key",
    "Layers",
    "Record",
    "SecondaryIndex",
    "Udf",
    "compute_digest",
    "read_backup",
]
