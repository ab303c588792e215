"""One module per command (filter.py also holds split); each is a plain function returning a
CommandResult, and declares its command line (flags, running from them, text) in COMMANDS,
which asbkit.cli registers."""

from .convert import ConvertReport, Selection, convert
from .filter import FilterReport, filter_backup, split_backup
from .inspect import InspectReport, inspect
from .stats import StatsReport, stats
from .validate import ValidateReport, validate

__all__ = [
    "FilterReport",
    "filter_backup",
    "split_backup","ConvertReport", "InspectReport", "Selection", "StatsReport", "ValidateReport", "convert", "inspect", "stats", "validate"]
