"""What every run on Dask needs from it: a client to the scheduler, workers checked (asbkit
there, the same version), a place they all share (a probe file written by one worker and
read by the others), progress from the tasks (Dask's structured events), a stop request
to them (a Dask Event) and the driver's heartbeat (metadata of the run's own task, gone
with the driver). Each is read in a way that ends quietly: a normal run or stop leaves no
ERROR in the scheduler's or workers' logs. `distributed` is imported here only, and only
when a run on Dask is asked for."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from .._codec import __version__
from ..control import Cancel
from ..errors import BadOption, DaskFailed
from ..io import places, s3
from ..io.s3 import S3Options


def distributed_module() -> Any:
    try:
        import distributed
    except ImportError:
        raise BadOption("--dask needs Dask's distributed package: pip install 'asbkit[dask]'") from None
    return distributed


def connect(address: str, timeout_s: float = 10.0) -> Any:
    """A client to the scheduler at `address` (`tcp://host:8786`)."""
    distributed = distributed_module()
    try:
        return distributed.Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise DaskFailed(f"the Dask scheduler at {address} does not answer ({exc}); check --dask and that the scheduler runs") from None


def worker_address() -> str | None:
    """The address of the worker this runs on (None: not on a worker)."""
    try:
        address: str = distributed_module().get_worker().address
    except ValueError:
        return None
    return address


def worker_version() -> str:
    """Runs on a worker: its asbkit's version (a worker without asbkit cannot even load
    this function)."""
    return __version__


def check_workers(client: Any, wait_s: float = 30.0) -> list[str]:
    """The workers' addresses, each checked to run this asbkit version."""
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except (TimeoutError, OSError):
        raise DaskFailed(f"the Dask scheduler {client.scheduler.address} has no worker (waited {wait_s:.0f} s)") from None
    answers = client.run(worker_version, on_error="return")
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            raise DaskFailed(
                f"worker {worker} cannot run asbkit ({type(answer).__name__}: {answer}): install asbkit {__version__} on every worker"
            )
        if answer != __version__:
            raise DaskFailed(f"worker {worker} has asbkit {answer}, this driver {__version__}: install the same version on every worker")
    return sorted(answers)


def _write_probe(path: str, token: str, s3_options: S3Options | None) -> str:
    if s3_options is not None:
        s3.configure(s3_options)
    places.write_text(path, token)
    return token


def _read_probe(path: str, s3_options: S3Options | None) -> str:
    if s3_options is not None:
        s3.configure(s3_options)
    try:
        return places.read_text(path)
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"


def check_shared(client: Any, workers: list[str], place: str, s3_options: S3Options) -> None:
    """Every worker reaches `place` and sees the same thing there: a probe file written by
    one worker is read by each of the others (removed after)."""
    probe = places.join(place, f".asbkit-probe-{uuid.uuid4().hex}")
    token = uuid.uuid4().hex
    opts = s3_options if places.is_url(place) else None
    writer = workers[0]
    try:
        written = client.run(_write_probe, probe, token, opts, workers=[writer], on_error="return")
        if isinstance(written.get(writer), BaseException):
            raise DaskFailed(f"worker {writer} cannot write into {place} ({written[writer]}): every worker must reach it", path=place)
        for worker, seen in sorted(client.run(_read_probe, probe, opts, workers=workers, on_error="return").items()):
            if seen != token:
                raise DaskFailed(
                    f"the workers do not share {place}: worker {writer} wrote a probe file there and worker {worker} "
                    f"{'reads something else' if isinstance(seen, str) and not seen.startswith('cannot') else seen}; "
                    "give a directory every worker mounts at the same path, or an s3:// URL",
                    path=place,
                )
    finally:
        with contextlib.suppress(OSError):
            places.remove(probe)


def wait_some(futures: set[Any], timeout_s: float) -> tuple[set[Any], set[Any]]:
    """(done, pending) as soon as one is done, or after `timeout_s` (Dask's own `wait`
    wants a default client, which a library call must not set)."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = {f for f in futures if f.done()}
        if done or time.monotonic() >= deadline:
            return done, futures - done
        time.sleep(0.05)


class PieceEvents:
    """The tasks' latest progress events, by piece (fed on the client's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_piece: dict[int, dict[str, Any]] = {}

    def event(self, values: dict[str, Any]) -> None:
        with self._lock:
            self._by_piece[values["piece"]] = values

    def latest(self) -> tuple[list[dict[str, Any]], int]:
        """Each piece's last event, and how many pieces are running (sent one, not done)."""
        with self._lock:
            pieces = list(self._by_piece.values())
        return pieces, sum(1 for p in pieces if not p.get("done"))


def run_tasks(
    client: Any,
    task: Callable[[Any], Any],
    pieces: list[tuple[str, Any]],
    *,
    fails_run: Callable[[Any], bool],
    cancel: Cancel | None,
    tick: Callable[[], None],
    stop: Callable[[], None],
) -> list[Any]:
    """Runs `task(argument)` for each (key, argument) of `pieces` on the workers; what
    each returned, or, for a task Dask gave up on (its workers kept dying), its exception.
    The first result `fails_run` says stops the run, as `cancel` does (`stop`: every task
    is asked to stop and save what it has); `tick` about four times a second."""
    futures = {client.submit(task, argument, key=key, pure=False): i for i, (key, argument) in enumerate(pieces)}
    results: list[Any] = [None] * len(pieces)
    pending = set(futures)
    stopping = False
    while pending:
        done, pending = wait_some(pending, 0.25)
        for f in done:
            result = f.result() if f.status == "finished" else f.exception()
            results[futures[f]] = result
            if not stopping and not isinstance(result, BaseException) and fails_run(result):
                stopping = True
                stop()
        if cancel is not None and cancel.is_set() and not stopping:
            stopping = True
            stop()
        tick()
    return results


#: Seconds without the driver's heartbeat after which a task stops (saving its state): a
#: driver killed leaves no task writing on behind a continuation.
DRIVER_GONE_S = 15.0


def _anchor_key(run: str) -> str:
    return f"asbkit-run-{run}"


def run_anchor() -> None:
    """The run's own task. The driver's heartbeat is kept as its metadata on the scheduler,
    which drops both when the driver lets go of it or is gone: read with a default, it ends
    quietly where a Dask Variable waited on after its deletion logs an ERROR there."""


class TaskChannel:
    """The tasks' side of a run: progress events to the driver, and its stop request (a
    Cancel for the library call the task runs, set when the driver asks, or when its
    heartbeat stops: the driver is gone)."""

    def __init__(self, run: str, piece: int) -> None:
        self.run, self.piece = run, piece
        self.cancel = Cancel()
        # The worker's client, taken on the task's thread (the watcher's thread has no
        # worker context of its own).
        try:
            self._client: Any = distributed_module().get_client()
        except ValueError:
            self._client = None  # not on a worker
        self._last = 0.0
        self._done = threading.Event()
        self._watch = threading.Thread(target=self._watch_stop, daemon=True, name="asbkit-stop-watch")

    def __enter__(self) -> TaskChannel:
        self._watch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()

    def _watch_stop(self) -> None:
        if self._client is None:
            return
        distributed = distributed_module()
        event = distributed.Event(f"asbkit-stop-{self.run}", client=self._client)
        anchor = _anchor_key(self.run)
        beat, seen = None, time.monotonic()
        while not self._done.is_set():
            try:
                if event.wait(timeout=0.5):
                    self.cancel.set()
                    return
                now_beat = self._client.get_metadata([anchor, "alive"], default=None)
                if now_beat is None:  # the run is gone from the scheduler: so is its driver
                    self.cancel.set()
                    return
                if now_beat != beat:
                    beat, seen = now_beat, time.monotonic()
            except Exception:  # the scheduler is gone
                time.sleep(0.5)
            if time.monotonic() - seen > DRIVER_GONE_S:
                self.cancel.set()
                return

    def progress(self, values: dict[str, Any], force: bool = False) -> None:
        """Sends `values` to the driver (at most twice a second unless forced)."""
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        distributed = distributed_module()
        with contextlib.suppress(ValueError):  # not on a worker (run in the driver's process)
            distributed.get_worker().log_event(f"asbkit-progress-{self.run}", {"piece": self.piece, **values})


@contextlib.contextmanager
def exclusive(name: str, timeout_s: float = 300.0) -> Iterator[None]:
    """Held while a task writes a piece: a task of an earlier run still writing it (its
    driver killed) finishes stopping before another starts (a Dask Lock, whose lease ends
    with its holder's process)."""
    distributed = distributed_module()
    lock = distributed.Lock(name)
    if not lock.acquire(timeout=timeout_s):
        raise DaskFailed(f"another task still writes {name} after {timeout_s:.0f} s; is another run of this backup going on?")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            lock.release()


@contextlib.contextmanager
def driver_channel(client: Any, on_event: Callable[[dict[str, Any]], None]) -> Iterator[tuple[str, Callable[[], None]]]:
    """The driver's side: a run id, and a function that asks every task to stop; the
    tasks' progress events go to `on_event` (on the client's thread); a heartbeat tells
    the tasks the driver is there."""
    distributed = distributed_module()
    run = uuid.uuid4().hex[:12]
    topic = f"asbkit-progress-{run}"
    client.subscribe_topic(topic, lambda event: on_event(event[1]))
    stop_event = distributed.Event(f"asbkit-stop-{run}", client=client)
    anchor_key = _anchor_key(run)
    anchor = client.submit(run_anchor, key=anchor_key, pure=False)
    # The first beat is there before any task looks for it.
    client.set_metadata([anchor_key, "alive"], 0)
    ended = threading.Event()

    def heartbeat() -> None:
        beat = 0
        while not ended.wait(1.0):
            beat += 1
            with contextlib.suppress(Exception):
                client.set_metadata([anchor_key, "alive"], beat)

    beating = threading.Thread(target=heartbeat, daemon=True, name="asbkit-heartbeat")
    beating.start()
    try:
        yield run, stop_event.set
    finally:
        ended.set()
        beating.join(timeout=2)
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(topic)
        with contextlib.suppress(Exception):
            stop_event.clear()
        with contextlib.suppress(Exception):
            anchor.release()
