"""A restore of `.asb` backups into a live cluster (as C asrestore writes them), and verify,
which reads every record back and compares it: options, driver, index and UDF apply."""

from .options import RestoreOptions
from .report import Failure, RestoreReport
from .run import restore
from .verify import Difference, VerifyReport, verify

__all__ = ["Difference", "Failure", "RestoreOptions", "RestoreReport", "VerifyReport", "restore", "verify"]
