"""A library call's outcome as the CLI sees it (report, errors, findings, exit code), so
tests can say `assert result_of(asbkit.validate, path).ok` or look at what a failed call
had done before it failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asbkit import AsbError
from asbkit.cli.envelope import CommandResult

T = TypeVar("T")


def result_of(call: Callable[..., T], *args: Any, **kwargs: Any) -> CommandResult[T]:
    """`call(*args, **kwargs)`: its report, or the error it raised with the report it
    carries."""
    try:
        report = call(*args, **kwargs)
    except (AsbError, OSError) as exc:
        return CommandResult(getattr(call, "__name__", "call"), getattr(exc, "report", None), [exc, *getattr(exc, "also", [])])  # type: ignore[arg-type]
    return CommandResult(getattr(call, "__name__", "call"), report, [], getattr(report, "findings", 0))
