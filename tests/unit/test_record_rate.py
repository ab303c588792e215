"""-L shared among a backup's scans (asbkit.backing_up.jobs.RecordRate), without a server: the
shares the nodes are asked for, and when scans must read one after another or wait."""

from __future__ import annotations

import threading
import time

from asbkit.backing_up.jobs import NODE_PACE_FLOOR, RecordRate


def never() -> bool:
    return False


def test_jobs_share_by_their_partitions_and_scans_within_a_job() -> None:
    rate = RecordRate(6000, {0: 1024, 1: 2048}, nodes=3, cancelled=never)
    assert rate.nodes_at_once
    with rate.scan(0, 1024, of_round=1024) as a, rate.scan(1, 1024, of_round=2048) as b, rate.scan(1, 1024, of_round=2048) as c:
        assert (a, b, c) == (2000, 2000, 2000)
    # A job that ended leaves its share to the others.
    rate.ended(0)
    with rate.scan(1, 512, of_round=2048) as alone:
        assert alone == 1500


def test_no_limit_asks_nothing() -> None:
    rate = RecordRate(0, {0: 4096}, nodes=3, cancelled=never)
    with rate.scan(0, 4096, of_round=4096) as rps:
        assert rps == 0


def test_a_thin_rate_reads_nodes_one_after_another_at_the_jobs_share() -> None:
    # 1,000/s over 8 jobs of 3 nodes would be 41/s a scan, under what a node paces.
    rate = RecordRate(1000, {j: 512 for j in range(8)}, nodes=3, cancelled=never)
    assert not rate.nodes_at_once
    with rate.scan(0, 170, of_round=512) as rps:
        assert rps == 125


def test_a_scan_waits_for_room_when_shares_fall_under_the_floor() -> None:
    rate = RecordRate(150, {0: 10, 1: 10}, nodes=1, cancelled=never)
    started: list[float] = []

    def second() -> None:
        with rate.scan(1, 10, of_round=10) as rps:
            started.append(time.monotonic())
            assert rps == NODE_PACE_FLOOR

    with rate.scan(0, 10, of_round=10) as first:
        assert first == NODE_PACE_FLOOR  # 75/s asked would run at 100/s all the same
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)
        assert not started, "two scans at 100/s would run at 200/s, over -L 150"
        released = time.monotonic()
    t.join(timeout=5)
    assert started and started[0] >= released
