"""What every command of the CLI returns (a library call's report, its errors and
findings), its exit code, and the versioned JSON envelope it renders to."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..errors import AsbError, also_raised

RESULT_VERSION = 1

# Exit codes (named, stable).
EXIT_OK = 0
EXIT_INVALID = 1  # the backup is invalid or unreadable with the options given
EXIT_USAGE = 2  # bad command line
EXIT_KEY = 3  # the encryption key cannot be used
EXIT_IO = 4  # a file could not be opened or read

T = TypeVar("T")


@dataclass
class CommandResult(Generic[T]):
    command: str
    data: T
    errors: list[AsbError | OSError] = field(default_factory=list)
    #: Findings that are not read errors (validate --deep): they fail the command too.
    findings: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.findings

    @property
    def exit_code(self) -> int:
        if not self.errors:
            return EXIT_INVALID if self.findings else EXIT_OK
        err = self.errors[0]
        if isinstance(err, OSError) or err.code == "input_unreadable":
            return EXIT_IO
        if err.code == "bad_option":
            return EXIT_USAGE
        if err.code == "key_error":
            return EXIT_KEY
        return EXIT_INVALID

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "asbkit.result",
            "version": RESULT_VERSION,
            "command": self.command,
            "status": "ok" if self.ok else "error",
            "exit_code": self.exit_code,
            "data": _plain(self.data),
            "errors": [error_dict(e) for e in self.errors],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def error_dict(err: AsbError | OSError) -> dict[str, Any]:
    if isinstance(err, AsbError):
        return err.to_dict()
    return {
        "code": "io_error",
        "message": err.strerror or str(err),
        "path": err.filename,
        "line": None,
        "column": None,
        "offset": None,
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        # Names may hold undecodable bytes as surrogates; JSON shows them escaped.
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value


def outcome(command: str, call: Callable[[], T], empty: T, findings: Callable[[T], int] = lambda report: 0) -> CommandResult[T]:
    """A library call as a command's result: its report (and findings), or the error it
    raised with the report that error carries (`empty` when it carries none)."""
    try:
        report = call()
    except (AsbError, OSError) as exc:
        partial = getattr(exc, "report", None)
        return CommandResult(command, partial if partial is not None else empty, [exc, *also_raised(exc)])
    return CommandResult(command, report, [], findings(report))
