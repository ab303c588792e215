"""Fixtures shared by every test: the upstream vectors, and the test servers (found through
ASBKIT_TEST_HOST, a one-node server, and ASBKIT_TEST_CLUSTER, a seed of three nodes;
without them the tests that need them skip, saying why; and an S3 server, started here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers.cluster_data import CLUSTER, HOST, client_for
from .helpers.files import vector
from .helpers.s3_server import s3_server, s3s_server  # noqa: F401 (session fixtures: S3 servers on loopback)


@pytest.fixture
def upstream_asb() -> Path:
    return vector("tools-backup/test/test_backup_file.asb")


@pytest.fixture
def bad_asb() -> Path:
    return vector("tools-backup/test/test_bad_backup_file.asb")


@pytest.fixture
def test_key() -> Path:
    return vector("tools-backup/test/test_key.pem")


@pytest.fixture(scope="session")
def host_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The official client on the one-node test server."""
    if not HOST:
        pytest.skip("set ASBKIT_TEST_HOST=host:port to a test Aerospike server (namespaces bar and test are truncated)")
    c = client_for(HOST, tmp_path_factory.mktemp("lua"))
    yield c
    c.close()


@pytest.fixture(scope="session")
def cluster_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The official client on the three-node test cluster."""
    if not CLUSTER:
        pytest.skip("set ASBKIT_TEST_CLUSTER=host:port to a seed of the three-node test cluster")
    c = client_for(CLUSTER, tmp_path_factory.mktemp("lua"))
    yield c
    c.close()
