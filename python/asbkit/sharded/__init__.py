"""Backups, restores and verifies bigger than one host, run on a Dask cluster (`pip install
'asbkit[dask]'`): the work cut into pieces (a backup's partitions into shards, a restore's
files), each a task that runs the single-host engine on a worker, and one result: one
backup with one manifest and one resumable state, one restore report.

    from distributed import Client
    import asbkit.sharded

    client = Client("tcp://scheduler:8786")
    asbkit.sharded.backup(client, "10.0.0.1:3000", namespace="test", directory="s3://bucket/test")
    asbkit.sharded.restore(client, "10.0.0.2:3000", directory="s3://bucket/test")

Dask is imported only when one of these runs."""

from .backing_up import backup
from .plan import Shard, balance, plan_shards, plan_slices
from .restoring import restore, verify

__all__ = ["Shard", "backup", "balance", "plan_shards", "plan_slices", "restore", "verify"]
