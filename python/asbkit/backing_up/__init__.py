"""A backup of a live cluster into `.asb` files (as C asbackup writes them): options,
the run and its jobs, the output place, the resumable state, `--estimate`."""

from .estimate import Estimate
from .options import BackupOptions
from .report import BackupFile, BackupReport
from .run import backup

__all__ = ["BackupFile", "BackupOptions", "BackupReport", "Estimate", "backup"]
