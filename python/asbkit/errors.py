"""Exceptions of asbkit, under their own root `AsbError`: `except AsbError` catches every
error asbkit raises of its own (a file that cannot be opened stays Python's OSError).
The Rust codec raises these classes directly (`rust/asb-py/src/errors.rs` imports them by
name); a wrong argument the codec is handed is Python's ValueError or TypeError."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar


class AsbError(Exception):
    """The root of asbkit's exceptions: a backup could not be read or written, a cluster
    not reached, a run not finished. Carries where, when known, and (raised by a library
    call) what was done before it as `report`."""

    code = "asb_error"
    report: object | None = None

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.offset = offset

    def location(self) -> str:
        """`path:line:column (byte N)` with whatever parts are known."""
        parts = [self.path or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        where = ":".join(parts)
        if self.offset is not None:
            where += f" (byte {self.offset})"
        return where

    def __str__(self) -> str:
        if self.path is None and self.line is None:
            return self.message
        return f"{self.location()}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "offset": self.offset,
        }


class AsbParseError(AsbError):
    """The text of the backup does not follow the `.asb` format."""

    code = "parse_error"


class AsbLayerError(AsbError):
    """The zstd or AES layer does not match the options, or is damaged (wrong key too)."""

    code = "layer_error"


class AsbKeyError(AsbError):
    """The encryption key cannot be read or used."""

    code = "key_error"


class AsbWriteError(AsbError):
    """A value cannot be written so that the C tools read it back (NUL in a name, too long)."""

    code = "write_error"


class AsbClusterError(AsbError):
    """The cluster could not be reached, or a node refused or failed a command."""

    code = "cluster_error"

    def __init__(
        self,
        message: str,
        node: str | None = None,
        result_code: int | None = None,
        retryable: bool = False,
        partition: int | None = None,
    ) -> None:
        super().__init__(message)
        self.node = node
        self.result_code = result_code
        self.retryable = retryable
        #: The partition it concerns, when it concerns one (a record's, a one-partition scan's).
        self.partition = partition

    def __str__(self) -> str:
        if self.node and f"node {self.node}" not in self.message:
            return f"node {self.node}: {self.message}"
        return self.message

    def to_dict(self) -> dict[str, object]:
        d = super().to_dict()
        d.update(node=self.node, result_code=self.result_code, retryable=self.retryable)
        if self.partition is not None:
            d["partition"] = self.partition
        return d


class BackupFailed(AsbError):
    """`asbkit backup` stopped: the options, the output place or the cluster did not allow
    it to finish (its state is saved when it can be continued)."""

    code = "backup_failed"


class BackupOutputFailed(BackupFailed):
    """Writing the backup's files failed (disk full, a closed pipe): no new state is saved,
    since the files may not hold what a state would say."""

    code = "output_error"


class RestoreFailed(AsbError):
    """`asbkit restore` (or `verify`) stopped, or some records could not be written."""

    code = "restore_failed"


class ClusterUnreachable(AsbClusterError):
    """No seed answered (wrong host or port, server down, TLS refused)."""

    code = "cannot_connect"


class NamespaceNotFound(AsbClusterError):
    """The namespace is not on the cluster."""

    code = "namespace_not_found"


class AuthFailed(AsbClusterError):
    """The cluster refused the login (user, password, expired session)."""

    code = "auth_failed"


class PermissionDenied(AsbClusterError):
    """The user is not allowed what the command needs (role, allow-list)."""

    code = "permission_denied"


#: Result codes whose cause has its own exception class.
_BY_RESULT_CODE: dict[int, type[AsbClusterError]] = {
    20: NamespaceNotFound,
    **{code: AuthFailed for code in (60, 62, 63, 65, 66, 80)},
    **{code: PermissionDenied for code in (81, 82)},
}


def cluster_error(
    message: str, node: str | None = None, result_code: int | None = None, retryable: bool = False, partition: int | None = None
) -> AsbClusterError:
    """The AsbClusterError for a node's answer, of the class its result code names."""
    cls = _BY_RESULT_CODE.get(result_code, AsbClusterError) if result_code is not None else AsbClusterError
    return cls(message, node=node, result_code=result_code, retryable=retryable, partition=partition)


def refined(err: AsbError) -> AsbError:
    """A cluster error raised as the plain class (from Rust) as the class of its cause."""
    if type(err) is AsbClusterError and err.result_code in _BY_RESULT_CODE:
        return cluster_error(err.message, err.node, err.result_code, err.retryable, err.partition)
    return err


class Interrupted(AsbError):
    """A backup, restore or verify stopped on request (Ctrl-C, SIGTERM, a cancel)."""

    code = "interrupted"


class InputUnreadable(AsbError):
    """An input that cannot be opened or listed (missing, not permitted): exit code 4, as
    for any file that cannot be read."""

    code = "input_unreadable"


class BadInput(AsbError):
    """An input that cannot be taken as given: a directory without backup files, a file
    of another namespace than a restore's -n says."""

    code = "bad_input"


# A ValueError too, deliberately (it and its subclass alone): a value the caller passed
# that cannot be used is what Python calls a ValueError, the options' own checks raise
# ValueError in their words (a library call turns it into BadOption), and callers that
# catch ValueError around a call for its arguments keep catching this one. A handler that
# turns ValueErrors into BadOption must therefore catch AsbError first.
class BadOption(AsbError, ValueError):
    """A flag's value, or a combination of flags, that cannot be used."""

    code = "bad_option"


class PasswordNeeded(BadOption):
    """A user was given without a password (`ClusterConfig.password` None): the library does
    not ask for it on a terminal; the command line does (-P alone, or -U without -P)."""


class OutputExists(BackupFailed):
    """The backup's directory or file already holds a backup (-r replaces it)."""

    code = "output_exists"


class DaskFailed(AsbError):
    """A Dask cluster cannot run the work (`--dask`): its scheduler does not answer, a
    worker lacks asbkit or has another version, the workers do not share the backup's
    place, or a piece's workers kept dying."""

    code = "dask_failed"


class RecordsFailed(RestoreFailed):
    """Some records could not be written (or read back) after the retries."""

    code = "records_failed"


E = TypeVar("E", bound=BaseException)


def with_report(exc: E, report: object) -> E:
    """`exc` carrying `report` (what was done before it) as `exc.report`: every error a
    library call raises carries one, OSError included."""
    exc.report = report  # type: ignore[attr-defined]
    return exc


@contextmanager
def carrying_report(report: object, on_error: Callable[[], object] | None = None) -> Iterator[None]:
    """The body of a library call (backup, restore, verify, and theirs on Dask): what it
    raises leaves as a typed error carrying `report` (what was done before it) as
    `.report`. AsbError and OSError go as they are; a ValueError (an option's value the
    checks refuse, a host list that does not parse) as BadOption. `on_error` runs first:
    the report's last words (its duration, a closing log line)."""
    try:
        yield
    except (AsbError, OSError) as exc:  # BadOption too (a ValueError as well): as it is
        if on_error is not None:
            on_error()
        raise with_report(exc, report) from None
    except ValueError as exc:
        if on_error is not None:
            on_error()
        raise with_report(BadOption(str(exc)), report) from None


class AlsoRaised(str):
    """A note on an exception (`add_note`): another error that stopped the same call, in
    words (as a traceback shows it), with the error itself as `error`."""

    error: AsbError

    def __new__(cls, error: AsbError) -> AlsoRaised:
        note = super().__new__(cls, f"also: {error}")
        note.error = error
        return note

    def __reduce__(self) -> tuple[type[AlsoRaised], tuple[AsbError]]:
        return AlsoRaised, (self.error,)


def first_of(errors: Sequence[AsbError], report: object) -> AsbError:
    """What a library call raises when `errors` stopped it: the first, carrying `report`
    as `carrying_report` has it, and each other one as a note on it (`also_raised` gives
    them back)."""
    first = errors[0]
    for other in errors[1:]:
        first.add_note(AlsoRaised(other))
    return with_report(first, report)


def also_raised(exc: BaseException) -> list[AsbError]:
    """The errors besides `exc` that stopped the call it stopped (none: [])."""
    return [n.error for n in getattr(exc, "__notes__", ()) if isinstance(n, AlsoRaised)]
