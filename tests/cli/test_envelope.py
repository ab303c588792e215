"""The JSON envelope of a command: every error that stopped its library call, each with
its code."""

from __future__ import annotations

from asbkit import errors
from asbkit.cli.envelope import outcome


def test_the_command_line_lists_every_error_that_stopped_a_call() -> None:
    def call() -> dict[str, int]:
        raise errors.first_of([errors.RecordsFailed("3 record(s) could not be written"), errors.AsbClusterError("node went away", node="A1")], {"read": 7})

    result = outcome("restore", call, {})
    assert result.data == {"read": 7}
    assert [e["code"] for e in result.to_dict()["errors"]] == ["records_failed", "cluster_error"]
