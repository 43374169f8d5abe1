"""Per-file attributes held in memory for filtering, and the BM25 index over the same files.

Built once per search engine from the catalog (one pass over its rows), so a filter costs a few
numpy comparisons instead of a catalog query per candidate, and the required/excluded words use the
BM25 postings (same tokenizer as the lexical score: "-musical" also drops "music" files' stems).
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, fields

import numpy as np

from soundsearch.index.bm25 import BM25, name_terms, tokenize

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


# Fields whose words a +word / -word filter looks at, beside the file's name and folders: what the
# file says about its sound (the metadata text keeps only the first 60 words of these, so a long
# description would otherwise push the folder words out of the filter's reach).
WORD_FIELDS = frozenset(("fxname", "title", "description", "category", "subcategory", "user_category",
                         "vendor_category", "keywords", "comment", "location", "name_words", "folder_words",
                         "folder_description", "genre", "library", "album"))


def filter_terms(record) -> set[str]:
    """Every word a +word / -word filter matches: tags, the file name and its folders, the library
    folder's own name included (a root ".../Music" says "music" of every file in it, though the
    metadata text only has the folders below the root)."""
    parts = [record.path.stem, record.root.name, *record.folder.parts, record.metadata.text]
    parts += [f.value for f in record.metadata.fields if f.name in WORD_FIELDS]
    return set(tokenize(" ".join(parts)))


def doc_terms(record) -> list[str]:
    """What BM25 indexes for a file: its metadata text, plus its whole file name and CatIDs as single
    terms (so typing "DOORWood_Slam_03" or "DOORWood" matches exactly one rare term)."""
    md = record.metadata
    terms = tokenize(md.text)
    terms += name_terms(record.path.stem)
    for catid in md.get("catid"):
        terms += name_terms(catid)
    return terms


class LibraryTable:
    def __init__(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.keywords = np.zeros(0, dtype=object)
        self.bm25 = BM25()
        self.words: dict[str, np.ndarray] = {}  # term → ids whose names, folders or tags say it
        self.copies: dict[int, tuple[int, ...]] = {}  # id → every id with the same content (itself too)

    @classmethod
    def build(cls, catalog) -> LibraryTable:
        t0 = time.perf_counter()
        table = cls()
        ids, dur, sr, ch, fmt, path, cats, docs, hashes = [], [], [], [], [], [], [], [], {}
        kws: list[str] = []
        words: dict[str, list[int]] = {}
        names: list[str] = []
        for rec in catalog.iter_files():
            ids.append(rec.id)
            dur.append(rec.duration if rec.duration is not None else np.nan)
            sr.append(rec.sample_rate or 0)
            ch.append(rec.channels or 0)
            fmt.append((rec.format or rec.path.suffix.lstrip(".")).lower())
            path.append(os.fsdecode(rec.path.parent))
            names.append(os.fsdecode(rec.path.name).lower())
            md = rec.metadata
            cats.append(" ".join(md.get("category") + md.get("subcategory") + md.get("catid")).lower())
            docs.append((rec.id, doc_terms(rec)))
            if rec.content_hash and rec.status != "error":
                hashes.setdefault(rec.content_hash, []).append(rec.id)
            for term in filter_terms(rec):
                words.setdefault(term, []).append(rec.id)
            kws.append(" ".join(md.get("keywords")).lower())
        table.ids = np.asarray(ids, np.int64)
        table.duration = np.asarray(dur, np.float64)
        table.sample_rate = np.asarray(sr, np.int64)
        table.channels = np.asarray(ch, np.int64)
        table.format = np.asarray(fmt, dtype=object)
        table.parent = np.asarray(path, dtype=object)
        table.name = np.asarray(names, dtype=object)
        table.category = np.asarray(cats, dtype=object)
        table.keywords = np.asarray(kws, dtype=object)
        table.bm25.build(docs)
        table.words = {t: np.unique(np.asarray(v, np.int64)) for t, v in words.items()}
        table.copies = {i: tuple(group) for group in hashes.values() if len(group) > 1 for i in group}
        log.info("library table: %d files in %.2f s", len(ids), time.perf_counter() - t0)
        return table

    def __len__(self) -> int:
        return len(self.ids)

    def allowed(self, f: Filters | None, predicted=None) -> np.ndarray | None:
        """Ids passing ``f`` (sorted), or None when nothing is filtered. ``predicted(tag)`` gives the
        ids of files with that predicted tag (the catalog's ``files_with_predicted_tag``)."""
        if f is None or not f.active:
            return None
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
            m &= _match(self.format, lambda v: v.replace("aiff", "aif") in wanted)
        if f.folder:
            if os.path.isabs(f.folder):
                prefix = os.path.normpath(f.folder)
                m &= _match(self.parent, lambda v: v == prefix or v.startswith(prefix + os.sep))
            else:
                needle = f.folder.lower().strip("/")
                m &= _match(self.parent, lambda v: needle in v.lower())
        if f.ucs_category:
            # word-start match: "door" finds "doors" and "doorwood", not "indoor"
            pattern = re.compile(r"\b" + re.escape(f.ucs_category.lower().strip()))
            m &= _match(self.category, lambda v: bool(pattern.search(v)))
        if f.tags and predicted is not None:
            for tag in f.tags:  # the file's own keyword (word start) or a tag a tagger heard
                pattern = re.compile(r"\b" + re.escape(tag.lower().strip()))
                m &= _match(self.keywords, lambda v, p=pattern: bool(p.search(v))) | \
                    np.isin(self.ids, predicted(tag))
        ids = self.ids[m]
        for word in f.require_words:
            for term in tokenize(word):
                ids = np.intersect1d(ids, self.rows_saying(term), assume_unique=True)
        for word in f.exclude_words:
            for term in tokenize(word):
                ids = np.setdiff1d(ids, self.rows_saying(term), assume_unique=True)
        return np.sort(ids)


    def ordered(self, ids: np.ndarray, key: str = "path", descending: bool = False) -> np.ndarray:
        """``ids`` sorted by one attribute ("path", "name", "duration", "format", "sample_rate",
        "channels"): what a browse list shows, sorted over every row rather than the loaded ones."""
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
        return self.words.get(term, np.zeros(0, np.int64))


def _match(values: np.ndarray, pred) -> np.ndarray:
    """Evaluate ``pred`` once per distinct value (folders, formats repeat across thousands of files)."""
    uniq, inverse = np.unique(values, return_inverse=True)
    return np.fromiter((bool(pred(v)) for v in uniq), bool, len(uniq))[inverse]
