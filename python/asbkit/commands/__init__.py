"""One module per command; each is a plain function returning a CommandResult."""

from .inspect import InspectReport, inspect
from .validate import ValidateReport, validate

__all__ = ["InspectReport", "ValidateReport", "inspect", "validate"]
