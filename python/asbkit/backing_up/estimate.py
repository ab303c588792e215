"""`asbkit backup --estimate`: the size of a backup, bounded as asbackup bounds it, from a
sample of records backed up through the layers into a scratch directory."""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asbkit._codec as _codec

from ..cluster.client import Cluster, ClusterConfig
from ..io.files import BackupReader, BackupWriter
from .options import BackupOptions

log = logging.getLogger("asbkit.backup")


@dataclass
class Estimate:
    """asbackup's `--estimate`: from a sample of records written through the layers."""

    samples: int
    #: Records in the namespace (or sets), as the cluster counts them.
    records: int
    #: Upper bound of the average record's text (99.9999% confidence).
    record_bytes: int
    #: Bytes on disk per byte of text (1.0 without compression).
    compression_ratio: float
    #: Upper bound of the whole backup's size (99.9% confidence).
    total_bytes: int


def z_score(p: float) -> float:
    """The z-score of the upper bound: asbackup's `sqrt(2) * -erfinv(2p - 1)`."""
    # Imported here: statistics costs tens of milliseconds at every start of the CLI.
    from statistics import NormalDist

    return -NormalDist().inv_cdf(p)


def estimate_size(config: ClusterConfig, o: BackupOptions, run_sample: Callable[[BackupOptions], Any]) -> Estimate:
    """Writes up to --estimate-samples records through the layers into a scratch directory
    (`run_sample`: a backup with the options given, raising when it fails), then bounds
    the record size and the backup's size as asbackup does."""
    scratch = tempfile.mkdtemp(prefix="asbkit-estimate-")
    try:
        sample_opts = dataclasses.replace(
            o, estimate=False, directory=scratch, max_records=o.estimate_samples,
            records_per_second=0, nice=0, file_limit=1 << 20, checkpoint_seconds=3600,
        )
        run_sample(sample_opts)
        files = sorted(Path(scratch).glob("*.asb"))
        sizes: list[int] = []
        header = 0
        # Record sizes: the text each record takes, as asbackup samples them.
        for entity in BackupReader([str(f) for f in files], o.layers):
            buf = io.BytesIO()
            w = BackupWriter(buf, o.namespace, first_file=False)
            w.write(entity)
            w.close()
            n = len(buf.getvalue()) - len(f"Version 3.1\n# namespace {o.namespace}\n".encode())
            if isinstance(entity, _codec.Record):
                sizes.append(n)
            else:
                header += n
        header += len(f"Version 3.1\n# namespace {o.namespace}\n# first-file\n".encode())
        disk = sum(f.stat().st_size for f in files)
        n = len(sizes)
        records = n
        with_cluster = Cluster(config)
        try:
            in_cluster = with_cluster.record_estimate(o.namespace, o.sets or None)
        finally:
            with_cluster.close()
        mean = sum(sizes) / n if n > 1 else 0.0
        variance = sum((x - mean) ** 2 for x in sizes) / (n - 1) if n > 1 else 0.0
        upper = 0 if n <= 1 else math.ceil(mean + z_score(1e-6) * math.sqrt(variance / n))
        ratio = disk / (sum(sizes) + header) if sizes else 1.0
        z_total = z_score(0.001 / max(in_cluster, 1))
        total = header + math.ceil(in_cluster * (ratio * mean + (z_total * math.sqrt(variance / n) if n > 1 else 0)))
        if o.layers.compress:
            log.info("Estimated overall record size before compression is %d byte(s)", upper)
            log.info("Approximate compression ratio is %g%%", 100 * ratio)
        else:
            log.info("Estimated overall record size is %d byte(s)", upper)
        log.info("Estimated total backup file size (for backup-to-file, 99.9%% confidence): %d byte(s)", total)
        return Estimate(records, in_cluster, upper, ratio, total)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
