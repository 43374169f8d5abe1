"""What the results list shows and how it is asked for: a query (with filters and like/dislike
feedback), "more like this", or a collection — each one call into the core on the core thread.

At most one search runs at a time; a request that arrives meanwhile replaces any waiting one, so
typing fast never queues stale searches and the newest text always wins.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from soundsearch.search import Filters, filter_text, parse_query

log = logging.getLogger(__name__)


@dataclass
class Request:
    kind: str = "query"  # "query" | "similar" | "collection" | "copies"
    text: str = ""
    filters: Filters = field(default_factory=Filters)
    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    target: Any = None  # file id for "similar", collection name for "collection"
    by: str = "all"  # "similar": by the sound and its words ("all") or the sound alone ("sound")
    sound_only: bool = False  # "query": rank by the sound alone, names and tags ignored


@dataclass
class Outcome:
    request: Request
    hits: list
    seconds: float
    total: int = 0  # hits in all (more than len(hits) when a page is loaded)
    browse: bool = False  # the library listed by filters alone, no words
    by_words: bool = False  # found by names and tags only: the model was not loaded yet


def _words(text: str) -> str:
    """The free words of a query: "door  slam " is "door slam", and adding a filter such as
    dur:<2 or -music narrows the same search rather than starting another."""
    return " ".join(parse_query(text)[0].split()).lower()


PAGE = 100  # results per page; scrolling to the end of the list asks for the next one
MAX_RESULTS = 5000  # a ranked list is cut here (a browse list has no end but the library's)


class SearchController(QObject):
    resultsReady = Signal(object)  # Outcome
    failed = Signal(str)
    busyChanged = Signal(bool)
    feedbackCleared = Signal()  # a new query text dropped the likes and dislikes of the old one

    def __init__(self, core, collections=None, k: int = PAGE, parent=None) -> None:
        """``core``: a :class:`~soundsearch.gui.worker.CoreThread` over a Session."""
        super().__init__(parent)
        self.core = core
        self.collections = collections
        self.page = self.k = k
        self.sort: tuple[str, bool] = ("path", False)  # browse order: attribute, descending
        self.text = ""
        self.filters = Filters()
        self.liked: set[int] = set()
        self.disliked: set[int] = set()
        self.mode = "query"
        self.target: Any = None
        self.similar_by = "all"  # "similar": "all" (M) or "sound" (Shift+M)
        self.sound_only = False  # queries ranked by the sound alone (the search box's Sound only)
        self._running = False
        self._waiting: Request | None = None
        self.last: Outcome | None = None

    # -- what the user asks for ----------------------------------------------------------------
    def query(self, text: str) -> None:
        """Search ``text``. New words start a new refine round: likes and dislikes belong to the
        query they were given for (birds liked under "bird chirping" must not steer "metal impact")."""
        if _words(text) != _words(self.text) and (self.liked or self.disliked):
            self.liked.clear()
            self.disliked.clear()
            self.feedbackCleared.emit()
        self.text, self.mode, self.target = text, "query", None
        self.k = self.page
        self.rerun()

    def set_sound_only(self, on: bool) -> None:
        """Rank queries by what the sounds sound like, ignoring names and tags (or not); the list
        on screen is ranked again when it is a query's."""
        self.sound_only = bool(on)
        if self.mode == "query" and self.text.strip():
            self.k = self.page
            self.rerun()

    def more(self) -> bool:
        """Load the next page of the current list (the user scrolled to its end); False when the
        list is complete."""
        last = self.last
        if last is None or self._running:
            return False
        if last.browse:
            complete = len(last.hits) >= last.total
        else:  # a ranked list has no known end: a short page was the last one
            complete = len(last.hits) < self.k or self.k >= MAX_RESULTS
        if complete:
            return False
        self.k += self.page
        self.rerun()
        return True

    def set_sort(self, key: str, descending: bool) -> None:
        """Browse order over every row of the library (not only the loaded page)."""
        self.sort = (key, descending)
        if self.last is not None and self.last.browse:
            self.rerun()

    def set_filters(self, filters: Filters) -> None:
        self.filters = filters
        self.k = self.page
        self.rerun()

    def feedback(self, file_id: int, mark: int) -> int:
        """Like (+1) or dislike (-1) a hit; the same mark again clears it. Returns the new mark."""
        current = 1 if file_id in self.liked else -1 if file_id in self.disliked else 0
        new = 0 if current == mark else mark
        self.liked.discard(file_id)
        self.disliked.discard(file_id)
        if new > 0:
            self.liked.add(file_id)
        elif new < 0:
            self.disliked.add(file_id)
        if self.mode == "query":
            self.rerun()
        return new

    def clear_feedback(self) -> None:
        self.liked.clear()
        self.disliked.clear()
        self.rerun()

    def similar(self, file_id: int, by: str = "all") -> None:
        """Sounds like ``file_id``, under the same filters as the list it came from: those of the
        Filters panel and those typed in the box (dur:<2, -music …); the words themselves no longer
        apply, so :attr:`text` keeps only the filters (the box shows it). ``by``: "all" (M) ranks
        by what the file is, its sound and its words; "sound" (Shift+M) by its sound alone."""
        self.mode, self.target, self.similar_by = "similar", int(file_id), by
        self.text = filter_text(self.text)
        self.rerun()

    def show_copies(self, file_id: int) -> None:
        """Every file with the same content as ``file_id`` (a collapsed row's copies)."""
        self.mode, self.target = "copies", int(file_id)
        self.rerun()

    def show_collection(self, name: str) -> None:
        self.mode, self.target = "collection", name
        self.rerun()

    def rerun(self) -> None:
        request = Request(self.mode, self.text, self.filters, tuple(sorted(self.liked)),
                          tuple(sorted(self.disliked)), self.target, self.similar_by, self.sound_only)
        if self._running:
            self._waiting = request  # replaces an older waiting one: the newest wins
            return
        self._start(request)

    @property
    def busy(self) -> bool:
        return self._running

    # -- running it ----------------------------------------------------------------------------
    def _start(self, request: Request) -> None:
        self._running = True
        self.busyChanged.emit(True)
        started = time.monotonic()
        session = self.core.session
        k = self.k
        filters = request.filters if request.filters.active else None
        if request.kind == "similar":
            typed = parse_query(request.text)[1]
            filters = typed.merged(request.filters) if typed.active else filters
            fn, args = session.similar, (request.target, filters, k, request.by)
        elif request.kind == "copies":
            fn, args = session.copies, (request.target,)
        elif request.kind == "collection":
            members = self.collections.members(request.target) if self.collections is not None else []
            fn, args = session.hits_for, (members,)
        else:
            fn, args = session.search, (request.text, filters, request.liked, request.disliked, k, self.sort,
                                        "audio" if request.sound_only else "hybrid")
        self.core.submit(fn, *args,
                         done=lambda hits: self._done(request, hits, started),
                         error=lambda exc: self._error(request, exc),
                         name=f"search {request.text!r}")

    def _done(self, request: Request, hits, started: float) -> None:
        self._finish()
        if self._waiting is not None:  # already outdated: run the newest instead of showing this
            waiting, self._waiting = self._waiting, None
            self._start(waiting)
            return
        total = getattr(hits, "total", None)
        browse = total is not None and not parse_query(request.text)[0].strip() and request.kind == "query"
        shown = list(hits or [])
        self.last = Outcome(request, shown, time.monotonic() - started,
                            len(shown) if total is None else total, browse, getattr(hits, "by_words", False))
        self.resultsReady.emit(self.last)

    def _error(self, request: Request, exc: Exception) -> None:
        self._finish()
        log.warning("search %r failed: %s", request.text, exc)
        self.failed.emit(str(exc))
        if self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            self._start(waiting)

    def _finish(self) -> None:
        self._running = False
        self.busyChanged.emit(False)
