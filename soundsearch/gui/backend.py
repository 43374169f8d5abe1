"""What the window asks of the core, in one plain object (no Qt): search, similar, library summary,
roots, collections' records, and the scan + index job.

A catalog's SQLite connection belongs to the thread that opened it, so the window runs every call
on this object on one serial worker thread (:func:`soundsearch.gui.worker.serial_pool`); the scan +
index job opens its own catalog on its own thread. Tests build a Backend with a tiny model loader
and a temporary home (STYLE.md #5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundsearch import paths
from soundsearch.jobs import CancelToken, Job
from soundsearch.library.catalog import Catalog
from soundsearch.search import Filters, Hit, SearchEngine
from soundsearch.settings import Settings

log = logging.getLogger(__name__)


def default_model_loader(settings: Settings):
    """The model the settings ask for (imports torch: call it on a worker thread)."""
    from soundsearch.model import load_model  # the one heavy import, kept off the start-up path

    spec = None if settings.model in ("", "default") else settings.model
    device = None if settings.device == "auto" else settings.device
    yamnet = (settings.yamnet_model or True) if settings.yamnet else False
    return load_model(spec, device=device, yamnet=yamnet)


@dataclass
class LibrarySummary:
    stats: dict = field(default_factory=dict)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)
    indexed: int = 0  # searchable items in the engine (0 before the model is loaded)

    @property
    def roots(self) -> list[dict]:
        return list(self.stats.get("roots", []))


@dataclass
class UpdateResult:
    scan: Any = None  # ScanResult
    index: Any = None  # IndexResult, None when there was no model to index with


class Backend:
    def __init__(self, settings: Settings | None = None, catalog_path: Path | None = None,
                 index_dir: Path | None = None,
                 model_loader: Callable[[Settings], Any] = default_model_loader) -> None:
        self.settings = settings or Settings()
        self.catalog_path = Path(catalog_path) if catalog_path else paths.catalog_path()
        self.index_dir = Path(index_dir) if index_dir else paths.index_dir()
        self.model_loader = model_loader
        self.model: Any = None
        self._engine: SearchEngine | None = None
        self._catalog: Catalog | None = None

    # -- on the serial core thread -------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.catalog_path)
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        self._engine = None

    def roots(self) -> list[Path]:
        return self.catalog.roots()

    def add_root(self, folder: Path) -> Path:
        return self.catalog.add_root(folder)

    def remove_root(self, folder: Path) -> list[int]:
        removed = self.catalog.remove_root(folder)
        if self._engine is not None:
            self._engine.refresh()
        return removed

    def summary(self) -> LibrarySummary:
        cat = self.catalog
        return LibrarySummary(cat.stats(), cat.errors(), cat.warnings(),
                              len(self._engine) if self._engine is not None else 0)

    def set_model(self, model: Any) -> None:
        self.model = model
        self._engine = None  # built on the next search, on the core thread

    @property
    def engine(self) -> SearchEngine | None:
        if self._engine is None and self.model is not None:
            self._engine = SearchEngine(self.catalog, self.model, self.settings, self.index_dir)
        return self._engine

    def refresh(self) -> int:
        """Pick up what an index job has saved; returns the number of searchable items."""
        if self._engine is not None:
            self._engine.refresh()
        engine = self.engine
        return len(engine) if engine is not None else 0

    def search(self, text: str, filters: Filters | None = None, liked: Sequence[int] = (),
               disliked: Sequence[int] = (), k: int = 100) -> list[Hit]:
        engine = self.engine
        if engine is None:
            return []
        if not text.strip() and not liked and not (filters and filters.active):
            return []
        return engine.search(text, k=k, filters=filters, liked=tuple(liked), disliked=tuple(disliked))

    def similar(self, target: int | Path, filters: Filters | None = None, k: int = 100) -> list[Hit]:
        engine = self.engine
        return [] if engine is None else engine.similar(target, k=k, filters=filters)

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

    # -- on a job thread -----------------------------------------------------------------------
    def update_job(self, cancel: CancelToken, roots: Sequence[Path] | None = None,
                   index: bool = True) -> Job[UpdateResult]:
        """Scan (the given roots, or all) and then embed what is new, on this thread's own catalog."""
        from soundsearch.indexer import index_job
        from soundsearch.library.scanner import scan

        result = UpdateResult()
        with Catalog(self.catalog_path) as catalog:
            result.scan = yield from scan(catalog, list(roots) if roots else None, cancel,
                                          follow_links=self.settings.follow_links)
            if index and self.model is not None:
                result.index = yield from index_job(catalog, self.model, self.settings, cancel,
                                                    index_dir=self.index_dir)
        return result
