"""A Dask LocalCluster of worker processes for the tests (skipped without distributed)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest


@contextlib.contextmanager
def local_dask(n_workers: int, **kwargs: Any) -> Iterator[Any]:
    """A client to a LocalCluster of `n_workers` worker processes (0: bring your own)."""
    distributed = pytest.importorskip("distributed", reason="the Dask tests need distributed (pip install '.[test]')")
    cluster = distributed.LocalCluster(n_workers=n_workers, processes=True, dashboard_address=None, silence_logs=40, **kwargs)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
