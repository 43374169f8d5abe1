"""Long work as plain generators, so the CLI, the GUI and tests drive the same code.

A job is a generator that ``yield``s :class:`Progress` values and checks a :class:`CancelToken`
between steps. The CLI prints the values, the GUI drives the generator on a worker thread, tests
drain it with :func:`run`. A job's return value (``StopIteration.value``) is its result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a job when its token is cancelled; work committed so far stays committed."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class Progress:
    """One report from a job. ``total`` is None while unknown (e.g. still walking folders)."""

    stage: str
    done: int = 0
    total: int | None = None
    message: str = ""
    audio_seconds: float = 0.0  # seconds of audio processed so far (indexing)
    started: float = field(default_factory=time.monotonic)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)

    @property
    def eta_seconds(self) -> float | None:
        """Linear estimate from the rate so far; None until there is a rate."""
        if not self.total or self.done <= 0:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * max(0, self.total - self.done)


Job = Generator[Progress, None, T]


def run(job: Job[T], on_progress: Callable[[Progress], Any] | None = None,
        cancel: CancelToken | None = None) -> T:
    """Drive ``job`` to the end and return its result (tests and the CLI use this)."""
    while True:
        if cancel is not None and cancel.cancelled:
            job.close()
            raise Cancelled()
        try:
            progress = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(progress)
