"""A library call's outcome as the CLI sees it (report, errors, findings, exit code), so
tests can say `assert result_of(asbkit.validate, path).ok` or look at what a failed call
had done before it failed."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

from asbkit import AsbError
from asbkit.cli.envelope import CommandResult
from asbkit.errors import also_raised

T = TypeVar("T")


def result_of(call: Callable[..., T], *args: Any, **kwargs: Any) -> CommandResult[T]:
    """`call(*args, **kwargs)`: its report, or the error it raised with the report it
    carries."""
    try:
        report = call(*args, **kwargs)
    except (AsbError, OSError) as exc:
        return CommandResult(getattr(call, "__name__", "call"), getattr(exc, "report", None), [exc, *also_raised(exc)])  # type: ignore[arg-type]
    return CommandResult(getattr(call, "__name__", "call"), report, [], getattr(report, "findings", 0))


def as_data(value: Any) -> Any:
    """A codec result (its classes compare by identity) as plain data that compares by
    value: each class's getters become a dict, lists and tuples lists."""
    if value is None or isinstance(value, (str, bytes, int, float)):
        return value
    if isinstance(value, dict):
        return {k: as_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_data(v) for v in value]
    getters = [n for n, d in vars(type(value)).items() if isinstance(d, types.GetSetDescriptorType)]
    assert getters, f"no getters on {type(value).__name__}"
    return {n: as_data(getattr(value, n)) for n in sorted(getters)}
