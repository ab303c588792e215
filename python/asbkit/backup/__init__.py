"""A backup of a live cluster into `.asb` files (as C asbackup writes them): options,
the run and its jobs, the output place, the resumable state, `--estimate`."""

from .options import BackupOptions
from .report import BackupFile, BackupReport
from .run import backup
from .estimate import Estimate

__all__ = ["BackupFile", "BackupOptions", "BackupReport", "Estimate", "backup"]
