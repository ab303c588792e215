"""One module per command; each is a plain function returning a CommandResult."""

from .convert import ConvertReport, Selection, convert
from .inspect import InspectReport, inspect
from .validate import ValidateReport, validate

__all__ = ["ConvertReport", "InspectReport", "Selection", "ValidateReport", "convert", "inspect", "validate"]
