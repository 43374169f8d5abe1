"""Run core work off the UI thread, so the window never waits for the catalog, a model or a job.

:class:`JobWorker` drives a core generator job (``yield Progress``): it checks the cancel token
before each ``next()``, forwards progress at most every 100 ms (the newest value wins, so a job
that yields per file never floods the event loop), then emits ``finished(result)``, ``cancelled``
or ``failed(error)``. :func:`call` wraps a plain function (a search, loading the model) the same way.

Signals are emitted from the pool thread and delivered on the UI thread (queued connections).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from soundsearch.jobs import Cancelled, CancelToken, Job, Progress

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.1  # seconds between progress signals
BACKGROUND_NICE = 10  # scheduling priority of scan/index/thumbnail threads (Linux, macOS)


def lower_thread_priority(nice: int = BACKGROUND_NICE) -> None:
    """Make the calling thread (and the threads it starts, which inherit it: decoders, torch's
    pool) yield the CPU to the UI thread. On Linux a thread's nice value is its own."""
    if not hasattr(os, "setpriority"):
        return  # Windows: the GIL switch interval (app.py) does the work there
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError as exc:
        log.debug("cannot lower thread priority: %s", exc)


class WorkerSignals(QObject):
    progress = Signal(object)  # Progress
    finished = Signal(object)  # the job's result
    failed = Signal(object)  # the exception
    cancelled = Signal()
    done = Signal()  # after any of finished / failed / cancelled


class JobWorker(QRunnable):
    """``factory(cancel_token) -> Job``; the generator is created on the worker thread."""

    _alive: set[JobWorker] = set()  # keeps Python wrappers alive until the pool has run them

    def __init__(self, factory: Callable[[CancelToken], Job], name: str = "job",
                 interval: float = PROGRESS_INTERVAL, background: bool = False) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it; _alive releases it when done
        self.factory = factory
        self.name = name
        self.interval = interval
        self.background = background  # long work: run at a lower priority than the UI
        self.token = CancelToken()
        self.signals = WorkerSignals()
        self.last_progress: Progress | None = None
        self.running = False
        self.result: Any = None

    def cancel(self) -> None:
        self.token.cancel()

    def start(self, pool: QThreadPool | None = None) -> JobWorker:
        JobWorker._alive.add(self)
        (pool or QThreadPool.globalInstance()).start(self)
        return self

    def run(self) -> None:  # on the pool thread
        self.running = True
        if self.background:
            lower_thread_priority()
        sig = self.signals
        try:
            self.result = self._drive()
        except Cancelled:
            log.info("%s cancelled", self.name)
            sig.cancelled.emit()
        except Exception as exc:  # reported to the UI; the worker thread must never die silently
            log.exception("%s failed", self.name)
            sig.failed.emit(exc)
        else:
            sig.finished.emit(self.result)
        finally:
            self.running = False
            sig.done.emit()
            JobWorker._alive.discard(self)

    def _drive(self) -> Any:
        token = self.token
        token.check()
        job = self.factory(token)
        last_emit = 0.0
        pending: Progress | None = None
        try:
            while True:
                if token.cancelled:
                    raise Cancelled()
                try:
                    progress = next(job)
                except StopIteration as stop:
                    return stop.value
                self.last_progress = progress
                now = time.monotonic()
                if now - last_emit >= self.interval:
                    self.signals.progress.emit(progress)
                    last_emit, pending = now, None
                else:
                    pending = progress
        finally:
            job.close()  # runs the job's own cleanup (finally blocks) on cancel or error
            if pending is not None:
                self.signals.progress.emit(pending)


def _call_job(fn: Callable[[], Any]) -> Job:
    """A plain call as a job with no progress."""
    return fn()
    yield  # noqa: B901 — unreachable on purpose: it makes this function a generator


def call(fn: Callable[..., Any], *args, name: str = "call", **kwargs) -> JobWorker:
    """A worker that runs ``fn(*args, **kwargs)`` once (not started yet; call ``.start(pool)``)."""
    return JobWorker(lambda _token: _call_job(lambda: fn(*args, **kwargs)), name=name)


def serial_pool(name: str) -> QThreadPool:
    """A one-thread pool whose thread never expires: work that shares a SQLite connection or an
    index (searches, refreshes) runs in order on one thread."""
    pool = QThreadPool()
    pool.setObjectName(name)
    pool.setMaxThreadCount(1)
    pool.setExpiryTimeout(-1)
    return pool


class CoreThread(QObject):
    """Runs calls on a Session one at a time on its own thread (the catalog connection's home)."""

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.pool = serial_pool("core")
        self._inflight: set[JobWorker] = set()
        self.closed = False  # after shutdown, late results are dropped, not sent to dead widgets

    def submit(self, fn: Callable[..., Any], *args, done: Callable[[Any], Any] | None = None,
               error: Callable[[Exception], Any] | None = None, name: str = "core call") -> JobWorker:
        worker = call(fn, *args, name=name)
        if done is not None:
            worker.signals.finished.connect(self._guard(done))
        if error is not None:
            worker.signals.failed.connect(self._guard(error))
        self._inflight.add(worker)
        worker.signals.done.connect(lambda w=worker: self._inflight.discard(w))
        return worker.start(self.pool)

    def _guard(self, fn: Callable[[Any], Any]) -> Callable[[Any], None]:
        def deliver(value: Any) -> None:
            if not self.closed:
                fn(value)

        return deliver

    def idle(self) -> bool:
        return not self._inflight

    def shutdown(self, timeout_ms: int = 5000, close_session: bool = True) -> None:
        """Let queued calls finish, then close the session on its own thread."""
        self.closed = True
        if close_session:
            self.pool.start(_Closer(self.session))
        self.pool.waitForDone(timeout_ms)


class _Closer(QRunnable):
    def __init__(self, session) -> None:
        super().__init__()
        self.session = session

    def run(self) -> None:
        self.session.close()
