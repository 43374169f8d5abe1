"""What the window asks of the core, in one plain object (no Qt): search, similar, library summary,
roots, collections' records, and the scan + index job.

A catalog's SQLite connection belongs to the thread that opened it, so the window runs every call
on this object on one serial worker thread (:func:`soundsearch.gui.worker.serial_pool`); the scan +
index job opens its own catalog on its own thread. Tests build a Backend with a tiny model loader
and a temporary home (STYLE.md #5).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundsearch import paths
from soundsearch.jobs import CancelToken, Job
from soundsearch.library.catalog import Catalog
from soundsearch.search import Filters, Hit, SearchEngine, parse_query
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


class HitPage(list):
    """Hits, and how many there are in all (a browse list loads its rows a page at a time)."""

    def __init__(self, hits=(), total: int | None = None) -> None:
        super().__init__(hits)
        self.total = len(self) if total is None else int(total)


@dataclass
class UpdateResult:
    scan: Any = None  # ScanResult
    index: Any = None  # IndexResult, None when there was no model to index with
    duplicates: Any = None  # near-duplicate groups (library.duplicates), None when not looked for


class Backend:
    def __init__(self, settings: Settings | None = None, catalog_path: Path | None = None,
                 index_dir: Path | None = None,
                 model_loader: Callable[[Settings], Any] = default_model_loader) -> None:
        self.settings = settings or Settings()
        self.catalog_path = Path(catalog_path) if catalog_path else paths.catalog_path()
        self.index_dir = Path(index_dir) if index_dir else paths.index_dir()
        self.fingerprint_dir = paths.cache_dir() / "fingerprints"
        self.model_loader = model_loader
        self.model: Any = None
        self._engine: SearchEngine | None = None
        self._catalog: Catalog | None = None
        self.near_copies: dict[int, tuple[int, ...]] = {}

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

    def folders(self) -> dict[str, int]:
        """Every folder that holds sounds (absolute path) → how many sounds are in it and below."""
        counts: dict[str, int] = {}
        roots = [str(r) for r in self.catalog.roots()]
        for path in self.catalog.paths():
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
        if self._engine is not None:
            self._engine.near_copies = self.near_copies

    def set_model(self, model: Any) -> None:
        self.model = model
        self._engine = None  # built on the next search, on the core thread

    @property
    def engine(self) -> SearchEngine | None:
        if self._engine is None and self.model is not None:
            self._engine = SearchEngine(self.catalog, self.model, self.settings, self.index_dir)
            self._engine.near_copies = self.near_copies
        return self._engine

    def refresh(self) -> int:
        """Pick up what an index job has saved; returns the number of searchable items."""
        if self._engine is not None:
            self._engine.refresh()
        engine = self.engine
        return len(engine) if engine is not None else 0

    def catch_up(self) -> int:
        """Make the sounds embedded since the last call searchable (no index file is read)."""
        engine = self._engine
        return engine.catch_up() if engine is not None else 0

    def search(self, text: str, filters: Filters | None = None, liked: Sequence[int] = (),
               disliked: Sequence[int] = (), k: int = 100, sort: tuple[str, bool] = ("path", False)
               ) -> list[Hit]:
        engine = self.engine
        if engine is None:
            return []
        free, typed = parse_query(text)
        browse = typed.merged(filters) if filters is not None else typed
        if not free.strip() and not liked:
            if not browse.active:
                return []
            # no words, only filters (or a folder): the library itself, sorted, a page at a time
            hits, total = engine.browse(browse, k, sort[0], sort[1], self.settings.hide_duplicates)
            return HitPage(hits, total)
        collapse = self.settings.hide_duplicates
        hits = engine.search(text, k=2 * k if collapse else k, filters=filters, liked=tuple(liked),
                             disliked=tuple(disliked))
        return engine.collapse_copies(hits)[:k] if collapse else hits

    def copies(self, file_id: int) -> list[Hit]:
        """Every file with the same content as ``file_id``."""
        engine = self.engine
        return [] if engine is None else engine.copies_of(file_id)

    def similar(self, target: int | Path, filters: Filters | None = None, k: int = 100) -> list[Hit]:
        engine = self.engine
        if engine is None:
            return []
        if not self.settings.hide_duplicates:
            return engine.similar(target, k=k, filters=filters)
        hits = engine.similar(target, k=2 * k, filters=filters)
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
            if self.settings.hide_duplicates:
                from soundsearch.library.duplicates import near_groups

                # fingerprints are cached by content: after the first run this reads, not decodes
                result.duplicates = yield from near_groups(catalog, self.fingerprint_dir, cancel)
        return result
