"""Options declared once: each field of an options dataclass (BackupOptions, RestoreOptions,
ClusterConfig, Layers, Selection, …) carries its flags, help, metavar and help section.
From them the CLI builds argparse and the options objects, and the configuration-file
reader knows its keys (the long flags). The library itself parses no flags.

    @dataclass
    class BackupOptions:
        namespace: str = option("-n", "--namespace", group=WHAT, help="the namespace to back up")

Where commands word a flag differently, `help`, `group`, `names` and `flag_default` may be
mappings from the command's name to the value (`"*"`: the others); `contexts` lists the
commands that have the flag at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

FLAG = "asbkit.flag"
NESTED = "asbkit.nested"


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: "Not given" for a flag's own default (None is a value).
UNSET: Any = _Unset()

#: value: one value; switch: present or not; optional: `-P` alone or `-P value`;
#: append: repeatable, every value kept (a list).
Kind = Literal["value", "switch", "optional", "append"]

T = TypeVar("T")
#: A value, or the values by command (`"*"` for the others).
PerCommand = Union[T, Mapping[str, T]]  # noqa: UP007 (a generic alias)


def pick(value: PerCommand[T], command: str) -> T:
    """`value` for `command` (a mapping is looked up, `"*"` standing for the others)."""
    if isinstance(value, Mapping):
        found: T = value[command] if command in value else value["*"]
        return found
    return value


@dataclass(frozen=True)
class Flag:
    names: PerCommand[tuple[str, ...]]
    help: PerCommand[str | None]
    group: PerCommand[str | None]
    metavar: str | None = None
    kind: Kind = "value"
    #: argparse's `type` (int, float): the value is checked while the line is parsed.
    type: Callable[[str], Any] | None = None
    #: The parsed value → the field's value (a ValueError is a bad flag, said in its words).
    convert: Callable[[Any], Any] | None = None
    choices: Sequence[str] | None = None
    #: The commands that have this flag (None: all that have its class).
    contexts: frozenset[str] | None = None
    #: What the flag gives when absent, if not the field's default.
    flag_default: PerCommand[Any] = UNSET

    def has(self, command: str) -> bool:
        return self.contexts is None or command in self.contexts


def with_values(cls: type[T], options: T | None, values: dict[str, Any]) -> T:
    """A library call's options: `options` (or the defaults) with `values` by field name."""
    return dataclasses.replace(options, **values) if options is not None else cls(**values)  # type: ignore[type-var]


def option(
    *names: str,
    help: PerCommand[str | None],
    group: PerCommand[str | None],
    default: Any = dataclasses.MISSING,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    metavar: str | None = None,
    kind: Kind = "value",
    type: Callable[[str], Any] | None = None,
    convert: Callable[[Any], Any] | None = None,
    choices: Sequence[str] | None = None,
    contexts: Sequence[str] | None = None,
    flag_default: PerCommand[Any] = UNSET,
    names_by_command: Mapping[str, tuple[str, ...]] | None = None,
) -> Any:
    """A dataclass field that is also a command-line flag (and a configuration key)."""
    all_names: PerCommand[tuple[str, ...]] = {**names_by_command, "*": tuple(names)} if names_by_command else tuple(names)
    flag = Flag(
        all_names, help, group, metavar, kind, type, convert, tuple(choices) if choices else None,
        frozenset(contexts) if contexts else None, flag_default,
    )
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata={FLAG: flag})
    if default is dataclasses.MISSING:
        default = False if kind == "switch" else None
    return field(default=default, metadata={FLAG: flag})


@dataclass(frozen=True)
class Nested:
    cls: type
    #: Put before the nested fields' names to make their argparse destinations.
    prefix: str = ""


def nested(cls: type, prefix: str = "") -> Any:
    """A field whose value is another declared dataclass (`cls()` by default), built from
    that class's own flags."""
    return field(default_factory=cls, metadata={NESTED: Nested(cls, prefix)})


def declared(cls: type) -> Iterator[tuple[dataclasses.Field[Any], Flag | Nested]]:
    """The fields of `cls` that come from flags, in order: (field, its Flag), or (field,
    the nested declared class its value is built from)."""
    for f in dataclasses.fields(cls):
        if FLAG in f.metadata:
            yield f, f.metadata[FLAG]
        elif NESTED in f.metadata:
            yield f, f.metadata[NESTED]


def field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None
