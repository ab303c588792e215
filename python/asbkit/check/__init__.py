"""The file side's checks: validate (parse, locate, deep checks, manifests), inspect (what a
backup holds) and stats (what its data looks like). They read files, directories and
stdin through the codec, and import nothing of the cluster side."""

from .findings import Finding
from .inspect import InspectReport, inspect
from .reading import FileContents
from .stats import StatsReport, stats
from .validate import DeepReport, ValidateReport, validate

__all__ = ["DeepReport", "FileContents", "Finding", "InspectReport", "StatsReport", "ValidateReport", "inspect", "stats", "validate"]
