"""asbkit's exceptions have their own root: `except AsbError` catches each of them, and
none is a ValueError but BadOption (a value the caller passed that cannot be used) and its
subclass PasswordNeeded."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

import asbkit
from asbkit import errors
from asbkit.cli.config import ConfigError
from asbkit.cli.secret_agent import SecretError

ERRORS_RS = Path(__file__).parents[2] / "rust" / "asb-py" / "src" / "errors.rs"


def _classes() -> list[type[BaseException]]:
    found = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, BaseException) and v.__module__ == errors.__name__]
    return [*found, ConfigError, SecretError]


def test_every_error_is_an_asb_error_and_only_bad_option_a_value_error() -> None:
    classes = _classes()
    assert errors.AsbError in classes and len(classes) > 20
    assert all(issubclass(c, errors.AsbError) for c in classes), [c for c in classes if not issubclass(c, errors.AsbError)]
    assert errors.AsbError.__bases__ == (Exception,)
    assert [c for c in classes if issubclass(c, ValueError)] == [c for c in classes if issubclass(c, errors.BadOption)]


def test_the_classes_the_codec_raises_are_asbkit_s() -> None:
    named = re.findall(r"import_exception!\(asbkit\.errors, (\w+)\)", ERRORS_RS.read_text())
    assert named, "errors.rs imports no exception from asbkit.errors"
    for name in named:
        assert issubclass(getattr(errors, name), errors.AsbError), name
        assert getattr(asbkit, name) is getattr(errors, name), f"{name} is not public"


def test_a_library_call_s_errors_carry_its_report() -> None:
    report: dict[str, int] = {"done": 3}
    said: list[str] = []
    for raised, cls in ((errors.AsbParseError("bad line"), errors.AsbParseError), (FileNotFoundError(2, "gone"), FileNotFoundError), (ValueError("-w takes 1 to 100"), errors.BadOption)):
        with pytest.raises(cls) as info, errors.carrying_report(report, on_error=lambda: said.append("stopped")):
            raise raised
        assert info.value.report is report  # type: ignore[attr-defined]
        assert str(raised) in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert said == ["stopped"] * 3
    with errors.carrying_report(report, on_error=lambda: said.append("stopped")):
        pass
    assert len(said) == 3, "on_error runs only on an error"


def test_further_errors_are_notes_on_the_first() -> None:
    report = object()
    first, second = errors.RecordsFailed("3 record(s) could not be written"), errors.AsbClusterError("node went away", node="A1")
    raised = errors.first_of([first, second], report)
    assert raised is first and raised.report is report
    assert raised.__notes__ == ["also: node A1: node went away"]
    assert errors.also_raised(raised) == [second]
    assert errors.also_raised(errors.first_of([errors.Interrupted("stopped")], report)) == []
    again = pickle.loads(pickle.dumps(raised))
    assert [str(e) for e in errors.also_raised(again)] == ["node A1: node went away"]


def test_a_directory_s_backup_files_are_listed_in_one_place_with_one_error_for_each_failure(tmp_path: Path) -> None:
    from asbkit.io.files import backup_files, expand_sources
    from asbkit.restoring.options import RestoreOptions, input_files

    (tmp_path / "b_00001.asb").write_bytes(b"")
    (tmp_path / "a_00000.asb").write_bytes(b"")
    (tmp_path / "notes.txt").write_bytes(b"")
    assert backup_files(str(tmp_path)) == [str(tmp_path / "a_00000.asb"), str(tmp_path / "b_00001.asb")]
    assert input_files(RestoreOptions(directory=str(tmp_path))) == expand_sources(str(tmp_path)) == backup_files(str(tmp_path))
    empty, missing = tmp_path / "empty", tmp_path / "missing"
    empty.mkdir()
    with pytest.raises(errors.BadInput) as info:
        expand_sources([str(empty)])
    assert (info.value.message, info.value.path) == ("the directory holds no .asb files", str(empty))
    with pytest.raises(errors.BadInput, match=r"holds no \.asb files \(check -d/--directory\)"):
        input_files(RestoreOptions(directory=str(empty)))
    with pytest.raises(errors.InputUnreadable, match="cannot list the directory: ") as unreadable:
        input_files(RestoreOptions(directory=str(missing)))
    assert unreadable.value.path == str(missing)
    with pytest.raises(errors.InputUnreadable):
        backup_files(str(missing))
    with pytest.raises(errors.BadInput) as called:
        asbkit.validate(str(empty))
    assert called.value.report is not None  # type: ignore[attr-defined]
