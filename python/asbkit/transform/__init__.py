"""The file side's copies: convert (`.asb` to JSON Lines and back), filter and split, each
through asrestore's filters (`Selection`). They import nothing of the cluster side."""

from .convert import ConvertReport, convert
from .filter import FilterReport, filter_backup, split_backup
from .selection import Selection

__all__ = ["ConvertReport", "FilterReport", "Selection", "convert", "filter_backup", "split_backup"]
