"""asbkit's exceptions have their own root: `except AsbError` catches each of them, and
none is a ValueError but BadOption (a value the caller passed that cannot be used)."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert [c.__name__ for c in classes if issubclass(c, ValueError)] == ["BadOption"]


def test_the_classes_the_codec_raises_are_asbkit_s() -> None:
    named = re.findall(r"import_exception!\(asbkit\.errors, (\w+)\)", ERRORS_RS.read_text())
    assert named, "errors.rs imports no exception from asbkit.errors"
    for name in named:
        assert issubclass(getattr(errors, name), errors.AsbError), name
        assert getattr(asbkit, name) is getattr(errors, name), f"{name} is not public"
