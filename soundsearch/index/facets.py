"""Per-file attributes held in memory for filtering and browse sorting.

Read from the catalog's ``search_facets`` table with one narrow SELECT (no metadata JSON to parse)
when a search engine first filters, browses or collapses copies, so a filter costs a few numpy
comparisons instead of a catalog query per candidate. The required/excluded words are looked up in
the catalog's ``search_words`` index (same tokenizer as the lexical ranking: "-musical" also drops
"music" files' stems), identical files by their content hash.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, fields

import numpy as np

from soundsearch.library.search_tables import FACETS
from soundsearch.library.terms import tokenize

log = logging.getLogger(__name__)


@dataclass
class Filters:
    min_duration: float | None = None
    max_duration: float | None = None
    sample_rates: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    formats: tuple[str, ...] = ()  # "wav", "flac", "ogg" … (case-insensitive)
    folder: str | None = None  # absolute folder prefix, or a substring of the folder's path
    ucs_category: str | None = None  # UCS category, subcategory or CatID (prefix), e.g. "DOOR"
    require_words: tuple[str, ...] = ()
    exclude_words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # each must be one of the file's own keywords or a predicted tag

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) not in (None, ()) for f in fields(self))

    def merged(self, other: Filters | None) -> Filters:
        """Values set in ``other`` win; word lists are joined."""
        if other is None:
            return self
        out = Filters(**{f.name: getattr(self, f.name) for f in fields(self)})
        for f in fields(other):
            value = getattr(other, f.name)
            if f.name in ("require_words", "exclude_words", "tags"):
                setattr(out, f.name, tuple(dict.fromkeys(getattr(out, f.name) + tuple(value))))
            elif value not in (None, ()):
                setattr(out, f.name, value)
        return out


class LibraryTable:
    """Every file's id (sorted) and, read on first use, the facets a filter or a sort compares
    (``duration``, ``sample_rate``, ``channels``, ``format``, ``parent``, ``name``, ``category``,
    ``keywords``): a filter on duration reads two columns, not the whole library's metadata."""

    def __init__(self, catalog=None) -> None:
        self.catalog = catalog
        self.ids = np.zeros(0, np.int64)
        self._copies: dict[int, tuple[int, ...]] | None = None

    @classmethod
    def build(cls, catalog) -> LibraryTable:
        t0 = time.perf_counter()
        table = cls(catalog)
        table.ids = catalog.facet_columns(())["ids"]
        log.info("library table: %d files in %.2f s", len(table.ids), time.perf_counter() - t0)
        return table

    def __getattr__(self, name: str):
        if name in FACETS and self.__dict__.get("catalog") is not None:
            self.load(name)
            return self.__dict__[name]
        raise AttributeError(name)

    def load(self, *names: str) -> None:
        """Read the facets ``names`` not read yet (all of them with ``ids`` again when the catalog's
        rows changed in between, so that every array stays aligned with ``ids``)."""
        missing = [n for n in names if n not in self.__dict__]
        if not missing or self.catalog is None:
            return
        cols = self.catalog.facet_columns(missing)
        if not np.array_equal(cols["ids"], self.ids):
            stale = [n for n in FACETS if n in self.__dict__]
            for n in stale:
                del self.__dict__[n]
            if stale:
                cols = self.catalog.facet_columns(stale + missing)
        self.__dict__.update(cols)

    @property
    def copies(self) -> dict[int, tuple[int, ...]]:
        """id → every id with the same content (itself too), read on first use."""
        if self._copies is None:
            self._copies = self.catalog.content_copies() if self.catalog is not None else {}
        return self._copies

    def __len__(self) -> int:
        return len(self.ids)

    def allowed(self, f: Filters | None, predicted=None) -> np.ndarray | None:
        """Ids passing ``f`` (sorted), or None when nothing is filtered. ``predicted(tag)`` gives the
        ids of files with that predicted tag (the catalog's ``files_with_predicted_tag``)."""
        if f is None or not f.active:
            return None
        self.load(*(name for name, used in (
            ("duration", f.min_duration is not None or f.max_duration is not None),
            ("sample_rate", bool(f.sample_rates)), ("channels", bool(f.channels)),
            ("format", bool(f.formats)), ("parent", bool(f.folder)), ("category", bool(f.ucs_category)),
            ("keywords", bool(f.tags and predicted is not None))) if used))
        m = np.ones(len(self.ids), bool)
        if f.min_duration is not None:
            m &= self.duration >= f.min_duration
        if f.max_duration is not None:
            m &= self.duration <= f.max_duration
        if f.sample_rates:
            m &= np.isin(self.sample_rate, list(f.sample_rates))
        if f.channels:
            m &= np.isin(self.channels, list(f.channels))
        if f.formats:
            wanted = {x.lower().lstrip(".").replace("aiff", "aif") for x in f.formats}
            m &= self._match("format", lambda v: v.replace("aiff", "aif") in wanted)
        if f.folder:
            if os.path.isabs(f.folder):
                prefix = os.path.normpath(f.folder)
                m &= self._match("parent", lambda v: v == prefix or v.startswith(prefix + os.sep))
            else:
                needle = f.folder.lower().strip("/")
                m &= self._match("parent", lambda v: needle in v.lower())
        if f.ucs_category:
            # word-start match: "door" finds "doors" and "doorwood", not "indoor"
            pattern = re.compile(r"\b" + re.escape(f.ucs_category.lower().strip()))
            m &= self._match("category", lambda v: bool(pattern.search(v)))
        if f.tags and predicted is not None:
            for tag in f.tags:  # the file's own keyword (word start) or a tag a tagger heard
                pattern = re.compile(r"\b" + re.escape(tag.lower().strip()))
                m &= self._match("keywords", lambda v, p=pattern: bool(p.search(v))) | \
                    np.isin(self.ids, predicted(tag))
        ids = self.ids[m]
        for word in f.require_words:
            for term in tokenize(word):
                ids = np.intersect1d(ids, self.rows_saying(term), assume_unique=True)
        for word in f.exclude_words:
            for term in tokenize(word):
                ids = np.setdiff1d(ids, self.rows_saying(term), assume_unique=True)
        return np.sort(ids)

    def _match(self, name: str, pred) -> np.ndarray:
        """Evaluate ``pred`` once per distinct value of a facet (folders, formats repeat across
        thousands of files); its distinct values are found once per facet read."""
        values = getattr(self, name)
        factors = self.__dict__.setdefault("_factors", {})
        if name not in factors or factors[name][0] is not values:
            index: dict = {}  # a dict, not np.unique: sorting a million strings costs more
            codes = np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64, len(values))
            factors[name] = (values, list(index), codes)
        _, uniq, inverse = factors[name]
        return np.fromiter((bool(pred(v)) for v in uniq), bool, len(uniq))[inverse]

    def ordered(self, ids: np.ndarray, key: str = "path", descending: bool = False) -> np.ndarray:
        """``ids`` sorted by one attribute ("path", "name", "duration", "format", "sample_rate",
        "channels"): what a browse list shows, sorted over every row rather than the loaded ones."""
        self.load(*(("parent", "name") if key not in ("name", "duration", "sample_rate", "channels", "format")
                    else (key,)))
        ids = ids[np.isin(ids, self.ids)]  # rows scanned away since ``ids`` were chosen
        rows = np.searchsorted(self.ids, ids)  # ids are built in id order
        if key == "name":
            values = self.name[rows]
        elif key in ("duration", "sample_rate", "channels", "format"):
            values = getattr(self, key)[rows]
        else:
            values = np.char.add(self.parent[rows].astype(str), self.name[rows].astype(str)) if len(rows) \
                else self.parent[rows]
        if values.dtype == object:
            values = values.astype(str)
        order = np.argsort(values, kind="stable")
        return ids[order[::-1] if descending else order]

    def rows_saying(self, term: str) -> np.ndarray:
        """Ids whose name, folders or tags hold ``term`` (tokenized), for +word and -word alike."""
        return self.catalog.files_saying(term) if self.catalog is not None else np.zeros(0, np.int64)
