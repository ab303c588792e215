"""The command line asks for a user's password on the terminal (-P alone, or -U without
-P), as the C tools do, before it calls the library (which never asks), and passes the
library a copy of its configuration with the password."""

from __future__ import annotations

import getpass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from asbkit import BackupReport, ClusterConfig, RestoreReport, VerifyReport
from asbkit.cli import main
from asbkit.cli.cluster_flags import with_password
from asbkit.cli.commands import backup as backup_command
from asbkit.cli.commands import restore as restore_command
from asbkit.cli.commands import verify as verify_command

from ..helpers.files import SAMPLE

COMMANDS: dict[str, tuple[ModuleType, str, Any, list[str]]] = {
    "backup": (backup_command, "backup", lambda: BackupReport(namespace="test"), ["-n", "test", "-d", "{tmp}/bk"]),
    "restore": (restore_command, "restore", RestoreReport, ["-i", str(SAMPLE)]),
    "verify": (verify_command, "verify", VerifyReport, [str(SAMPLE)]),
}


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The prompts getpass was called with (each answered `s3cret`)."""
    prompts: list[str] = []

    def answer(prompt: str = "Password: ", stream: object = None) -> str:
        prompts.append(prompt)
        return "s3cret"

    monkeypatch.setattr(getpass, "getpass", answer)
    return prompts


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("flags", "prompts", "password"),
    [
        (["-U", "admin", "-P"], ["Password for admin: "], "s3cret"),
        (["-U", "admin"], ["Password for admin: "], "s3cret"),
        (["-U", "admin", "-P", "given"], [], "given"),
        ([], [], None),
    ],
)
def test_the_command_line_asks_for_a_missing_password_before_the_call(
    command: str, flags: list[str], prompts: list[str], password: str | None, asked: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module, name, report, argv = COMMANDS[command]
    configs: list[ClusterConfig] = []

    def call(config: ClusterConfig, options: Any, **_: Any) -> Any:
        configs.append(config)
        return report()

    monkeypatch.setattr(module, name, call)
    assert main([command, *(a.format(tmp=tmp_path) for a in argv), *flags, "--no-progress"]) == 0
    assert asked == prompts
    assert [c.password for c in configs] == [password]


def test_removing_a_backup_s_files_asks_for_no_password(asked: list[str], tmp_path: Path) -> None:
    (tmp_path / "bk").mkdir()
    assert main(["backup", "-n", "test", "-d", str(tmp_path / "bk"), "--remove-artifacts", "-U", "admin", "--no-progress"]) == 0
    assert asked == []


def test_the_configuration_asked_for_is_a_copy(asked: list[str]) -> None:
    config = ClusterConfig(user="admin")
    with_password_config = with_password(config)
    assert (with_password_config.password, config.password) == ("s3cret", None)
    assert with_password(with_password_config) is with_password_config and asked == ["Password for admin: "]
