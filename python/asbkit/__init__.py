"""asbkit: Aerospike backup (`.asb`) files, read and written by a Rust codec.

    import asbkit
    for entity in asbkit.read_backup("backup_dir", asbkit.Layers(compress="zstd")):
        if isinstance(entity, asbkit.Record):
            ...
"""

from ._codec import Bin, Header, Key, Record, SecondaryIndex, Udf, __version__, compute_digest
from .errors import AsbError, AsbKeyError, AsbLayerError, AsbParseError, AsbWriteError
from .files import BackupReader, BackupWriter, read_backup
from .layers import Layers

__all__ = [
    "__version__",
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
