"""`--dask ADDRESS` of backup, restore and verify: the run spread over a Dask cluster's
workers (`asbkit.sharded`); without it nothing changes and Dask is not imported."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from ..sharded import engine
from .flags import Extra, extra

GROUP = "[asbkit] many hosts (Dask)"


def dask_flags(command: str) -> list[Extra]:
    flags = [extra(
        "--dask", metavar="ADDRESS", group=GROUP,
        help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786), spread over its workers, with one result; "
        "the backup's place must be one every worker reaches (a shared directory, or s3://); needs pip install 'asbkit[dask]'",
    )]
    if command == "backup":
        flags.append(extra("--dask-shards", type=int, metavar="N", group=GROUP, help="shards of the partitions, balanced by size and grouped by node (default: 2 per worker thread)"))
    return flags


@contextlib.contextmanager
def dask_client(args: argparse.Namespace) -> Iterator[Any]:
    """The client to --dask's scheduler, closed after."""
    client = engine.connect(args.dask)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
