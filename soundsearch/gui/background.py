"""Background work of the window: load the model, then scan and index, one job at a time, shown in
the progress panel with a cancel button, while the user goes on searching what is indexed.

Jobs wait in a small queue; each runs on the job thread as a core generator driven by a
:class:`~soundsearch.gui.worker.JobWorker`. During indexing the search engine re-reads the saved
index now and then, so new sounds become findable without waiting for the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from soundsearch.gui.progress_panel import ProgressPanel
from soundsearch.gui.worker import JobWorker
from soundsearch.jobs import CancelToken, Job, Progress

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 30.0  # how often the library summary and index files are re-read during a long index
CATCH_UP_EVERY_S = 1.0  # how often newly embedded sounds join the search engine in memory


@dataclass
class _Queued:
    kind: str  # "model" | "update"
    title: str
    factory: Callable[[CancelToken], Job]
    cancellable: bool = True


def _load_model_job(session) -> Job:
    yield Progress("model", 0, None, "")
    return session.load_model()  # the session makes it current for the indexer and the engine


class BackgroundJobs(QObject):
    modelReady = Signal(object)
    modelFailed = Signal(str)
    jobFinished = Signal(str, object)  # kind, result
    jobFailed = Signal(str, str)  # kind, message
    jobCancelled = Signal(str)
    idle = Signal()
    refreshWanted = Signal()  # enough new sounds are indexed to be worth a search-engine refresh
    catchUpWanted = Signal()  # sounds were scanned or embedded since the last one: make them searchable

    def __init__(self, session, panel: ProgressPanel, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.panel = panel
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.pool.setExpiryTimeout(-1)
        self.queue: list[_Queued] = []
        self.current: _Queued | None = None
        self.worker: JobWorker | None = None
        self._last_refresh = 0.0
        self._last_catch_up = 0.0
        self._stage = ""
        self.closed = False  # set when the window closes: late signals of a job are ignored
        panel.cancelRequested.connect(self.cancel)

    # -- requests ------------------------------------------------------------------------------
    def load_model(self) -> None:
        self.queue = [q for q in self.queue if q.kind != "model"]
        self._enqueue(_Queued("model", "Loading the search model…",
                              lambda _t: _load_model_job(self.session), cancellable=False))

    def update(self, roots: list | None = None, index: bool = True) -> None:
        """Scan ``roots`` (all when None) and index what is new; merges with a waiting update."""
        for q in self.queue:
            if q.kind == "update":  # one waiting update that scans everything covers both
                q.factory = lambda t: self.session.update_job(t, None, index)
                return
        self._enqueue(_Queued("update", "Scanning folders…",
                              lambda t, r=roots: self.session.update_job(t, r, index)))

    def cancel(self) -> None:
        """Stop the running job (work committed so far is kept) and drop waiting scans."""
        self.queue = [q for q in self.queue if not q.cancellable]
        if self.worker is not None and self.current is not None and self.current.cancellable:
            self.worker.cancel()

    @property
    def busy(self) -> bool:
        return self.current is not None or bool(self.queue)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel, drop the queue and wait for the running job to stop (the window is closing)."""
        self.closed = True
        self.queue = []
        if self.worker is not None:
            self.worker.cancel()
        if self.current is not None and not self.current.cancellable:
            return False  # loading the model: it cannot stop early, so waiting only delays the exit
        return self.pool.waitForDone(timeout_ms)

    # -- running -------------------------------------------------------------------------------
    def _enqueue(self, job: _Queued) -> None:
        self.queue.append(job)
        if self.current is None:
            self._next()

    def _next(self) -> None:
        if not self.queue:
            self.current = self.worker = None
            self.panel.finish()
            self.idle.emit()
            return
        job = self.current = self.queue.pop(0)
        # Scans and indexing run at a lower CPU priority (the UI and the user's DAW come first); the
        # model load does not: the user is waiting for it, and a de-prioritised thread that holds the
        # GIL while the machine is busy would stall the UI thread behind it.
        worker = self.worker = JobWorker(job.factory, name=job.kind, background=job.kind != "model")
        worker.signals.progress.connect(lambda p: self.closed or self._progress(p))
        worker.signals.finished.connect(lambda result, j=job: self.closed or self._finished(j, result))
        worker.signals.failed.connect(lambda exc, j=job: self.closed or self._failed(j, exc))
        worker.signals.cancelled.connect(lambda j=job: self.closed or self._cancelled(j))
        self.panel.start(job.title, job.cancellable)
        self._last_refresh = time.monotonic()
        self._stage = ""
        worker.start(self.pool)

    def _progress(self, progress: Progress) -> None:
        self.panel.update_progress(progress)
        scanned = progress.stage == "index" and self._stage != "index"  # the scan is over
        self._stage = progress.stage
        if scanned or (progress.stage == "index" and progress.done
                       and time.monotonic() - self._last_catch_up > CATCH_UP_EVERY_S):
            self._last_catch_up = time.monotonic()
            self.catchUpWanted.emit()
        if progress.stage == "index" and progress.done and \
                time.monotonic() - self._last_refresh > REFRESH_EVERY_S:
            self._last_refresh = time.monotonic()
            self.refreshWanted.emit()

    def _finished(self, job: _Queued, result: Any) -> None:
        if job.kind == "model":
            self.modelReady.emit(result)
        self.jobFinished.emit(job.kind, result)
        self._next()

    def _failed(self, job: _Queued, exc: Exception) -> None:
        message = str(exc) or type(exc).__name__
        if job.kind == "model":
            self.modelFailed.emit(message)
        self.jobFailed.emit(job.kind, message)
        self._next()

    def _cancelled(self, job: _Queued) -> None:
        self.jobCancelled.emit(job.kind)
        self._next()
