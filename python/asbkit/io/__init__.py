"""The file side's ground: backup files, directories and streams (read and written through
the codec), their zstd and AES layers and keys, and the manifest's format."""

from .files import BackupReader, BackupWriter, Entity, Source, expand_sources, read_backup, write_synthetic
from .layers import Layers

__all__ = ["BackupReader", "BackupWriter", "Entity", "Layers", "Source", "expand_sources", "read_backup", "write_synthetic"]
