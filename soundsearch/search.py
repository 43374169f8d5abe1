"""Query → ranked hits: the Python API the CLI and the GUI sit on.

``SearchEngine.search`` embeds the text with the model's query encoder and walks one of the vector
indexes — fused item vectors (mode "hybrid"), audio vectors ("audio") or metadata vectors
("metadata") — then turns the ids into catalog rows. Details measured rather than assumed:

- Filters are applied *inside* the vector search, not after it: hnswlib's filtered walk keeps
  recall@10 at 1.000 at every selectivity tried, where over-fetching k/selectivity candidates and
  post-filtering lost up to 1.3 points at 1% selectivity for no real speed gain; a filter leaving
  few files is answered by an exact scan of those files (tests/benchmarks/bench_index.py).
- Exact words: a query that is a whole file name or CatID puts those files first (EXACT_BOOST). On
  547 held-out files, typing a file's name ranked it first 99.3% of the time with this rule and
  52.7% without it (bench_retrieval.py).
- Lexical blend: BM25 over the metadata text (FTS5's ``bm25()`` on the catalog's ``search_text``
  table, so nothing is built at start), divided by the query's ideal score (all its words
  present), added with ``settings.lexical_weight``. The query's last word matches as a prefix when
  no file has it whole (as-you-type). Held-out MAP, names / descriptive queries:
  0.970 / 0.562 without it; 0.975 / 0.562 at 0.1 (the default); 0.983 / 0.555 at 0.2; 0.986 /
  0.549 at 0.5. Dividing by the best candidate's BM25 instead cost descriptive queries more (0.548
  at 0.1), as a one-common-word match then counts as much as a full one. (Measured with the
  in-memory BM25 this replaced; the ideal now uses FTS5's idf, and the lexical ranking alone gives
  the same MAP on those files, names 0.987 / descriptive 0.094: bench_retrieval.py --lexical-only.)
- Refine is Rocchio relevance feedback in the searched space: q' = α·q + β·mean(liked) − γ·mean(disliked).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundsearch import paths
from soundsearch.index.exact import normalize
from soundsearch.index.facets import Filters, LibraryTable
from soundsearch.index.library import LibraryIndex, load_stored
from soundsearch.library.catalog import FileRecord
from soundsearch.library.terms import name_terms, tokenize
from soundsearch.model.pipeline import single_threaded_torch
from soundsearch.settings import Settings

__all__ = ["Filters", "Hit", "MODES", "SearchEngine", "WordSearch", "filter_text", "parse_query"]

log = logging.getLogger(__name__)

MODES = {"hybrid": "items", "audio": "sounds", "metadata": "meta"}
LEXICAL_POOL = 100  # candidates from each of the vector and the BM25 ranking that get blended
EXACT_BOOST = 2.0  # > any cosine gap: an exact file name or CatID typed ranks first
# An index job saves its index files at least this often (indexer.SAVE_EVERY_S is 60 s): vectors
# committed in the window before a (re)load may not be in the files yet, so they are read again.
CATCH_UP_WINDOW_S = 120.0
UNEMBEDDED_WEIGHT = 0.1  # a scanned file not yet embedded scores this × its lexical match
# Label bridge (soundsearch.model.taggers.bridge): added to the cosine, times the query's gate and
# settings.bridge_weight. Chosen on the validation packages with YAMNet's tags (mean MAP of name and
# descriptive queries; audio 0 / 0.3 / 1 / 2: 0.206 / 0.254 / 0.298 / 0.301, hybrid 0 / 0.1 / 0.3:
# 0.831 / 0.832 / 0.833 with worse held-out names at 0.3); bench_quality.py prints the held-out rows.
# Re-checked after the best field, the sound floor and the query recall: the validation packages
# now ask for more bridge in both modes (audio 2: sum of names + descriptive MAP 0.683 vs 0.616;
# hybrid 1.0: names + descriptive + half-untagged 2.325 vs 2.278), but at those weights hybrid +
# YAMNet falls below the raw text encoder on held-out names (0.961 vs 0.966) and audio + bridge
# drops too: four validation packages over-represent what YAMNet knows, so both stay as chosen.
BRIDGE_WEIGHT = {"audio": 1.0, "hybrid": 0.1}
# Best field: the cosine of the query with the file's best-matching metadata segment (its name, its
# description, a folder: library.metadata.text.text_fields), above FIELD_FLOOR and rescaled to 0..1,
# is added with this weight in the hybrid and metadata modes, beside the whole text's vector that
# the indexes hold. Chosen on the validation packages (sum of MAP over names, descriptive and
# half-untagged queries; lexical 0.1, no tagger; without fields 2.182): weight 0.25 / 0.5 / 0.75 ×
# floor 0: 2.189 / 2.203 / 2.195; floor 0.2: 2.224 / 2.225 / 2.214; floor 0.3: 2.229 / 2.241 /
# 2.206; floor 0.4: 2.220 / 2.204 / 2.184. Floor 0 ranked better on held-out descriptive queries
# (0.611 vs 0.606) but worse where half the files are untagged (0.400 vs 0.410) and in a library
# of opaque names with a few stray tags (bench_retrieval.py: 0.204 vs 0.213; 0.226 without fields).
FIELD_WEIGHT = 0.5
FIELD_FLOOR = 0.3  # a best field's cosine counts from here (0 → 0, 1 → 1): loose matches add nothing
# Sound floor (hybrid): a file whose words match the query less than its sound does is not pulled
# all the way down by them — SOUND_FLOOR × (the audio vector's cosine − the fused vector's) is added
# where positive (an untagged file's fused vector is its audio vector: nothing changes). Without it a
# recording titled "crickets1" ranked below untagged sounds for "insects chirping on a summer
# evening", its title matching the words less well than its sound matched them. Chosen on the
# validation packages (sum of MAP, names + descriptive + half-untagged, with the best field): 0 /
# 0.25 / 0.5 / 0.75 / 1: 2.241 / 2.249 / 2.248 / 2.245 / 2.225.
SOUND_FLOOR = 0.25
SIMILAR_BY = ("all", "sound")  # "more like this": by the sound and its words, or the sound alone
SIMILAR_POOL = 200  # candidates re-scored with the library mean taken out (similar by="sound")
MEAN_SAMPLE = 4096  # audio vectors averaged for that mean
LEXICAL_NORM = "query"  # BM25 / ideal(query terms), or "max": / the best candidate's BM25
GONE_SLACK = 8  # extra candidates fetched for files deleted since the last scan


@dataclass
class Hit:
    file_id: int
    path: Path
    score: float
    record: FileRecord
    matched: list[str]  # "field: value" of the metadata that shares words with the query
    copies: tuple[Path, ...] = ()  # other files with the same content, when duplicates are collapsed


_KEYED = re.compile(r"^(dur|duration|sr|rate|ch|channels|format|fmt|folder|cat|ucs|tag):(.+)$", re.I)
_RANGE = re.compile(r"^(<=?|>=?)?([\d.]+)(?:-([\d.]+))?s?$")


def parse_query(text: str) -> tuple[str, Filters]:
    """Split ``text`` into free text and filters: ``-word`` excludes, ``+word`` requires, and
    ``dur:<2`` ``dur:0.5-3`` ``sr:48000`` ``ch:1`` ``format:wav`` ``folder:foley`` ``cat:DOOR``
    ``tag:footsteps`` (a keyword of the file's own, or a tag predicted from its audio) filter.
    "quoted words" stay free text. Unparseable keyed values are kept as free text."""
    free, f = [], Filters()
    for token in re.findall(r'"[^"]*"|\S+', text):
        if token.startswith('"'):
            free.append(token.strip('"'))
        elif len(token) > 1 and token[0] == "-" and not token[1].isdigit():
            f.exclude_words += (token[1:],)
        elif len(token) > 1 and token[0] == "+":
            f.require_words += (token[1:],)
        elif (m := _KEYED.match(token)) and _apply_keyed(f, m.group(1).lower(), m.group(2)):
            pass
        else:
            free.append(token)
    return " ".join(free), f


def filter_text(text: str) -> str:
    """Only the filter part of a query ("door slam dur:<2 -music" → "dur:<2 -music"): what still
    applies when the list shows something other than the words' results (more like this)."""
    kept = []
    for token in re.findall(r'"[^"]*"|\S+', text):
        if not token.startswith('"') and not parse_query(token)[0]:
            kept.append(token)
    return " ".join(kept)


def _apply_keyed(f: Filters, key: str, value: str) -> bool:
    if key in ("dur", "duration"):
        m = _RANGE.match(value)
        if not m:
            return False
        op, a, b = m.group(1), float(m.group(2)), m.group(3)
        if b is not None:
            f.min_duration, f.max_duration = a, float(b)
        elif op and op.startswith("<"):  # Filters bounds are inclusive; "<" and ">" are strict
            f.max_duration = a if op == "<=" else a - 1e-6
        elif op and op.startswith(">"):
            f.min_duration = a if op == ">=" else a + 1e-6
        else:
            f.min_duration = f.max_duration = a
        return True
    try:
        if key in ("sr", "rate"):
            f.sample_rates += tuple(int(float(v.lower().rstrip("khz")) * (1000 if "k" in v.lower() else 1))
                                    for v in value.split(","))
        elif key in ("ch", "channels"):
            names = {"mono": 1, "stereo": 2}
            f.channels += tuple(names.get(v.lower()) or int(v) for v in value.split(","))
    except ValueError:
        return False
    if key in ("format", "fmt"):
        f.formats += tuple(value.lower().split(","))
    elif key == "folder":
        f.folder = value
    elif key in ("cat", "ucs"):
        f.ucs_category = value
    elif key == "tag":
        f.tags += (value.lower(),)
    return True


class SearchEngine:
    def __init__(self, catalog, model, settings: Settings | None = None, index_dir: Path | None = None):
        self.catalog, self.model = catalog, model
        self.settings = settings or Settings()
        if str(getattr(model, "device", "cpu")).startswith("cpu"):
            # One short query is a few small matrix products: a second torch thread saves little on
            # an idle machine (MiniLM query p50 17 ms with 2 threads, 20 ms with 1) and costs a lot
            # on a busy one (45–95 ms with 1 thread, 100–350 ms with 2 at load 5 on 2 cores).
            single_threaded_torch()
        self.index_dir = Path(index_dir or paths.index_dir())
        self.lib = self._open_indexes()
        self._table: LibraryTable | None = None
        self._copies: dict[int, tuple[int, ...]] | None = None
        self._lexical_memo = None  # (query key, n fetched, result) of the search under way
        self._rows_seen = 0  # catalog rows when the table or the copies were read
        self._caught_up = 0.0
        self._tag_tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # file id → ids of the same sound in other files (re-encoded, resampled …), from
        # library.duplicates.near_groups; identical files come from the table (content hash)
        self.near_copies: dict[int, tuple[int, ...]] = {}
        self.catch_up(CATCH_UP_WINDOW_S)

    @property
    def table(self) -> LibraryTable:
        """Read on first use (a filter, browse, copies) and after :meth:`refresh`."""
        if self._table is None:
            self._table = LibraryTable.build(self.catalog)
            self._rows_seen = len(self._table)
        return self._table

    @property
    def copies(self) -> dict[int, tuple[int, ...]]:
        """id → every id with the same content (itself too), read on first use."""
        if self._copies is None:
            self._rows_seen = self.catalog.count()
            self._copies = self._table.copies if self._table is not None else self.catalog.content_copies()
        return self._copies

    def share_table(self, other: SearchEngine) -> None:
        """Use the attribute table ``other`` has built over the same catalog, if any: a second pass
        over a 100,000-file catalog costs seconds."""
        if self._table is None and other._table is not None:
            self._table, self._copies = other._table, other._copies
            self.catch_up()  # files scanned since it was built

    def refresh(self) -> None:
        """Reload the index files and the attribute table after an index job."""
        self.lib = self._open_indexes()
        self._table = None
        self._copies = None
        self._tag_tables = {}
        self.catch_up(CATCH_UP_WINDOW_S)

    def catch_up(self, window: float | None = None) -> int:
        """Add the vectors an index job has committed to the catalog since the last call (or in the
        last ``window`` seconds) to the indexes in memory, and re-read the attribute table when the
        scan added files: each sound is searchable by its audio as soon as it is embedded, not at
        the job's next index save. Returns the number of vectors added."""
        import time

        from soundsearch.index.library import StoredVectors

        started = time.time()
        since = started - window if window is not None else self._caught_up - 1.0
        ids, audio, meta, has_meta = self.catalog.load_embeddings(self.model.model_id, since=since)
        self._caught_up = started
        if window is not None and len(ids):  # after a load: only what the saved files lack
            new = np.array([i not in self.lib.items for i in ids.tolist()], bool)
            ids, audio, meta, has_meta = ids[new], audio[new], meta[new], has_meta[new]
        if len(ids):
            self.lib.add(StoredVectors(ids, audio, meta, has_meta))
            self._tag_tables = {}  # their predicted tags too (read again on the next worded search)
        if (self._table is not None or self._copies is not None) and self.catalog.count() != self._rows_seen:
            self._table = self._copies = None  # new files scanned: filters must know them
        return len(ids)

    def _open_indexes(self) -> LibraryIndex:
        # items now (its problems are reported at once); sounds and meta when first searched
        lib = LibraryIndex.open(self.index_dir, self.catalog, self.model, self.settings.fusion_weight,
                                eager=("items",), writer=False)
        # Vectors committed just before an index job was killed are in the catalog but not in the
        # saved files: bring them in, in memory (the next index job saves them). One count query
        # decides; the vectors are loaded only when the counts differ.
        if self.catalog.count_embeddings(self.model.model_id) != len(lib.items):
            stored = load_stored(self.catalog, self.model.model_id)
            lib._stored = stored
            added, _ = lib.reconcile(stored)
            if added:
                log.info("search: %d stored vectors were missing from the index files", added)
        return lib

    @property
    def problems(self) -> dict[str, str]:
        """Index name → why it had to be rebuilt from stored vectors (for the user)."""
        return self.lib.problems

    def __len__(self) -> int:
        return len(self.lib)

    # ---- search --------------------------------------------------------------------------------
    def search(self, text: str, k: int = 50, filters: Filters | None = None, mode: str = "hybrid",
               liked: Sequence[int] = (), disliked: Sequence[int] = ()) -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        free, parsed = parse_query(text)
        filters = parsed.merged(filters)
        index = self.lib[MODES[mode]]
        self._lexical_memo = None
        allowed = self._allowed(filters)
        blocked = {int(i) for i in disliked}  # a disliked sound is not shown again in this round
        if blocked and allowed is not None:
            allowed = _without(allowed, blocked)
        text_vec = self._text_vector(free)
        if mode == "audio" and text_vec is not None and hasattr(self.model, "audio_query"):
            # the words carried over to what training sounds captioned like them sounded like
            text_vec = normalize(self.model.audio_query(text_vec[None, :]))[0]
        q = self.query_vector(free, index, liked, disliked, text_vec)
        terms = tokenize(free)
        if q is None:  # only filters: list the matching files, embedded or not yet
            ids = self.table.ids if allowed is None else allowed
            ids = ids[~np.isin(ids, list(blocked))][:k + GONE_SLACK]
            return self._hits(ids, np.zeros(len(ids), np.float32), terms, k)
        # "audio" searches the sound only: no name words (BM25, exact names) blend in, so an
        # untagged recording and a well-named one are ranked by what they sound like.
        weight = float(self.settings.lexical_weight) if free and mode != "audio" else 0.0
        exact = self._exact_matches(free, allowed) if mode != "audio" else np.zeros(0, np.int64)
        exact = exact[~np.isin(exact, list(blocked))]
        fetch = max(k, LEXICAL_POOL) if weight > 0 else k + GONE_SLACK
        # With no filter, a predicate skips the disliked files (a set of every other id would cost
        # more than the search itself in a big library).
        flt = allowed if allowed is not None or not blocked else (lambda i: i not in blocked)
        bridge = self._bridge(free, mode)
        field_q = text_vec if mode != "audio" and FIELD_WEIGHT > 0 else None
        sound_floor = mode == "hybrid" and SOUND_FLOOR > 0 and text_vec is not None
        pooled = bridge is not None or field_q is not None or sound_floor  # re-scored candidates
        if pooled:
            fetch = max(fetch, LEXICAL_POOL)
        ids, scores = index.knn(q[None, :], fetch, filter=flt)
        ids, scores = ids[0], scores[0]
        if weight > 0 or len(exact) or pooled:
            ids, scores = self._rerank(index, q, ids, scores, terms + _query_name_terms(free), weight,
                                       exact, allowed, blocked, bridge, _typing(free, terms), field_q,
                                       sound_floor)
        if free and mode != "audio" and self.catalog.file_count() > len(index):  # some not embedded yet
            ids, scores = self._add_unembedded(index, ids, scores, terms + _query_name_terms(free), exact,
                                               allowed, blocked, _typing(free, terms))
        return self._hits(ids, scores, terms, k)

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or not filters.active:
            return None
        predicted = getattr(self.catalog, "files_with_predicted_tag", None)
        return self.table.allowed(filters, (lambda tag: predicted(tag, self.settings.tag_min_score))
                                  if predicted else None)

    def tag_table(self, source: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, tag confidences [N, V]) of every file a tagger has heard, loaded on first use."""
        if source not in self._tag_tables:
            vocab = self.model.tag_vocabulary(source)
            ids, probs = self.catalog.load_predicted_scores(source)
            if vocab is None or probs.shape[1] != len(vocab.classes):
                self._tag_tables[source] = (np.zeros(0, np.int64), np.zeros((0, 0), np.float16))
            else:  # float16 halves the memory (~120 bytes a file); scores need no more precision
                self._tag_tables[source] = (ids, vocab.tag_scores(probs).astype(np.float16))
        return self._tag_tables[source]

    def _bridge(self, free: str, mode: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The label bridge's score per file (ids sorted), already weighted, or None when it does
        not apply: metadata mode, no words, no tagger, or a query that names no tag."""
        weight = BRIDGE_WEIGHT.get(mode, 0.0) * float(self.settings.bridge_weight)
        if weight <= 0 or not free.strip() or not hasattr(self.model, "tag_bridge"):
            return None
        total: dict[int, float] = {}
        out_ids, out = None, None
        for source, (w, gate) in self.model.tag_bridge(free).items():
            ids, tags = self.tag_table(source)
            if gate <= 0 or not len(ids):
                continue
            s = (tags.astype(np.float32) @ w) * (gate * weight)
            if out is None:
                out_ids, out = ids, s
            else:  # a second tagger: sum over the union of the files both have heard
                for i, v in zip(np.concatenate([out_ids, ids]).tolist(), np.concatenate([out, s]).tolist()):
                    total[i] = total.get(i, 0.0) + v
                out_ids = np.array(sorted(total), np.int64)
                out = np.array([total[i] for i in out_ids.tolist()], np.float32)
        return None if out is None else (out_ids, out.astype(np.float32))

    def _add_unembedded(self, index, ids, scores, terms, exact, allowed, blocked, prefix=None):
        """Files scanned but not embedded yet (an index job is under way, or has not run): found by
        their names and tags alone, scored like the lexical part of the blend (an exact name still
        first), so a new library is searchable as soon as it is scanned."""
        # an exact name is a rare term: in the pool
        lex_ids, lex, ideal = self._lexical(terms, LEXICAL_POOL * 4, prefix)
        keep = np.array([i not in index for i in lex_ids.tolist()], bool) & ~np.isin(lex_ids, list(blocked))
        if allowed is not None:
            keep &= np.isin(lex_ids, allowed)
        if not keep.any():
            return ids, scores
        new, raw = lex_ids[keep], lex[keep]
        weight = max(float(self.settings.lexical_weight), UNEMBEDDED_WEIGHT)
        extra = weight * np.minimum(1.0, raw / max(ideal, 1e-9))
        extra = (extra + EXACT_BOOST * np.isin(new, exact)).astype(np.float32)
        ids, scores = np.concatenate([ids, new]), np.concatenate([scores, extra])
        order = np.argsort(-scores, kind="stable")
        return ids[order], scores[order]

    def _lexical(self, terms: list[str], n: int, prefix: str | None):
        """The catalog's BM25 ranking (ids, scores, ideal), asked of SQLite once per search: the
        blend and the not-yet-embedded files share it (scoring the matches is what costs, not n)."""
        key = (tuple(terms), prefix)
        memo = getattr(self, "_lexical_memo", None)
        if memo is None or memo[0] != key or memo[1] < n:
            fetch = max(n, LEXICAL_POOL * 4)
            memo = self._lexical_memo = (key, fetch, self.catalog.lexical(terms, fetch, prefix))
        ids, scores, ideal = memo[2]
        return ids[:n], scores[:n], ideal

    def _exact_matches(self, free: str, allowed) -> np.ndarray:
        """Files whose whole name or CatID is the query: a sound designer who types one expects
        those first, whatever the embedding thinks."""
        if not free.strip():
            return np.zeros(0, np.int64)
        found = [self.catalog.files_with_term(t) for t in _query_name_terms(free)]
        ids = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
        return ids if allowed is None else ids[np.isin(ids, allowed)]

    def _text_vector(self, free: str) -> np.ndarray | None:
        """The query's own words embedded (unit), or None without words."""
        return normalize(self.model.embed_query([free]))[0] if free.strip() else None

    def query_vector(self, free: str, index, liked: Sequence[int] = (),
                     disliked: Sequence[int] = (), text_vec: np.ndarray | None = None) -> np.ndarray | None:
        """The (Rocchio-moved) query in ``index``'s space, or None when there is nothing to search by.
        ``text_vec``: the words' vector when the caller has it already."""
        s = self.settings
        if text_vec is None and free.strip():
            text_vec = self._text_vector(free)
        q = text_vec * s.feedback_alpha if text_vec is not None else None
        if liked:
            pos = _known(index, liked)
            if len(pos):
                move = s.feedback_beta * index.get(pos).mean(axis=0)
                q = move if q is None else q + move
        if disliked and q is not None:
            neg = _known(index, disliked)
            if len(neg):
                q = q - s.feedback_gamma * index.get(neg).mean(axis=0)
        return None if q is None else normalize(q)[0]

    def _rerank(self, index, q, ids, scores, terms, weight, exact, allowed, blocked, bridge=None,
                prefix=None, field_q=None, sound_floor=False):
        """Union of the vector, BM25, label-bridge and exact-name candidates, scored
        cosine + weight · bm25 / max bm25 + bridge + FIELD_WEIGHT · best field's cosine with the
        words ``field_q`` (+ EXACT_BOOST for an exact name or CatID); with ``sound_floor`` (hybrid),
        + SOUND_FLOOR × how far the sound alone matches ``q`` better than the fused vector does."""
        lex_ids, lex, ideal = np.zeros(0, np.int64), np.zeros(0, np.float32), 0.0
        br_ids = np.zeros(0, np.int64)
        if bridge is not None:
            b_ids, b = bridge
            keep = ~np.isin(b_ids, list(blocked))
            if allowed is not None:
                keep &= np.isin(b_ids, allowed)
            b_ids, b = b_ids[keep], b[keep]
            br_ids = b_ids[np.argsort(-b, kind="stable")[:LEXICAL_POOL]]
        if weight > 0:
            pool = LEXICAL_POOL * 4 if allowed is not None else LEXICAL_POOL  # room for the filter
            lex_ids, lex, ideal = self._lexical(terms, pool, prefix)
            keep = ~np.isin(lex_ids, list(blocked))
            if allowed is not None:
                keep &= np.isin(lex_ids, allowed)
            lex_ids, lex = lex_ids[keep][:LEXICAL_POOL], lex[keep][:LEXICAL_POOL]
        extra = np.setdiff1d(np.union1d(np.union1d(lex_ids, exact), br_ids), ids)
        extra = extra[[i in index for i in extra.tolist()]] if len(extra) else extra
        if len(extra):
            ids = np.concatenate([ids, extra])
            scores = np.concatenate([scores, index.get(extra) @ q])
        blended = scores + EXACT_BOOST * np.isin(ids, exact)
        if len(lex_ids):
            norm = lex.max() if LEXICAL_NORM == "max" else max(ideal, 1e-9)
            lex_of = dict(zip(lex_ids.tolist(), np.minimum(1.0, lex / norm).tolist()))
            blended += weight * np.array([lex_of.get(i, 0.0) for i in ids.tolist()], np.float32)
        if bridge is not None and len(bridge[0]):
            pos = np.clip(np.searchsorted(bridge[0], ids), 0, len(bridge[0]) - 1)
            blended += np.where(bridge[0][pos] == ids, bridge[1][pos], 0.0).astype(np.float32)
        if field_q is not None or sound_floor:
            fields, sound = self._candidate_scores(ids, field_q, q if sound_floor else None)
            blended += FIELD_WEIGHT * fields + SOUND_FLOOR * np.maximum(0.0, sound - scores)
        order = np.argsort(-blended, kind="stable")
        return ids[order], blended[order].astype(np.float32)

    def _candidate_scores(self, ids: np.ndarray, field_q: np.ndarray | None,
                          sound_q: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Per id: the best metadata field's cosine with ``field_q`` above FIELD_FLOOR, rescaled
        (0 without words), and the audio vector's cosine with ``sound_q`` (-1 where there is none,
        so that it never adds anything); both 0 / -1 when not asked for."""
        fields = np.zeros(len(ids), np.float32)
        sound = np.full(len(ids), -1.0, np.float32)
        reader = getattr(self.catalog, "candidate_vectors", None)
        if reader is None or not len(ids):
            return fields, sound
        vecs = reader(self.model.model_id, ids.tolist())
        for n, i in enumerate(ids.tolist()):
            f, a = vecs.get(i, (None, None))
            if field_q is not None and f is not None:
                fields[n] = field_score(float(np.max(f @ field_q)))
            if sound_q is not None and a is not None:
                sound[n] = float(a @ sound_q)
        return fields, sound

    def similar(self, target: int | Path | str, k: int = 50, filters: Filters | None = None,
                by: str = "all") -> list[Hit]:
        """Sounds like a library file (id or path) or like any audio file (query by example).

        ``by="all"`` (the default, the app's M key): what the file is, its sound and its words — the
        fused item vectors, as the hybrid search ranks. ``by="sound"``: the audio alone, with the
        library's mean audio vector taken out of every vector first (what all the library's sounds
        share says nothing about this one). Held-out packages, is the first result from another
        package of the same class (bench_quality.py): audio vectors 0.333, centred 0.387, fused
        item vectors 0.800. An audio file from outside the library has only its sound: it is
        searched by sound."""
        if by not in SIMILAR_BY:
            raise ValueError(f"by must be one of {', '.join(SIMILAR_BY)}, not {by!r}")
        file_id, vec, space = self._example_vector(target, ("items", "sounds") if by == "all"
                                                   else ("sounds", "items"))
        by = "all" if space == "items" else "sound"
        index = self.lib.items if by == "all" else self.lib.sounds
        allowed = self._allowed(filters)
        if file_id is not None:
            allowed = _without(index.ids() if allowed is None else allowed, [file_id])
        if by == "all":
            ids, scores = index.knn(vec[None, :], k + GONE_SLACK, filter=allowed)
            return self._hits(ids[0], scores[0], [], k)
        mean = self._audio_mean(index)
        q = normalize(vec - mean)[0]
        ids, _ = index.knn(q[None, :], max(k, SIMILAR_POOL) + GONE_SLACK, filter=allowed)
        ids = ids[0]
        if not len(ids):
            return []
        scores = (normalize(index.get(ids) - mean) @ q).astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        return self._hits(ids[order], scores[order], [], k)

    def _audio_mean(self, index) -> np.ndarray:
        """The library's mean audio vector, estimated from up to MEAN_SAMPLE vectors (a fixed
        sample: the same library gives the same mean); kept until the index is reloaded."""
        key = (id(index), len(index))
        if getattr(self, "_mean_memo", (None,))[0] != key:
            ids = np.sort(index.ids())
            if len(ids) > MEAN_SAMPLE:
                ids = ids[np.random.default_rng(0).choice(len(ids), MEAN_SAMPLE, replace=False)]
            mean = index.get(ids).mean(axis=0) if len(ids) else np.zeros(0, np.float32)
            self._mean_memo = (key, mean.astype(np.float32))
        return self._mean_memo[1]

    def _example_vector(self, target, spaces: Sequence[str] = ("sounds", "items")
                        ) -> tuple[int | None, np.ndarray, str]:
        """(file id or None, vector, the index it is from: "items" or "sounds"). A metadata-only
        library file has no audio vector: it is searched by its item vector (its words)."""
        record = None
        if isinstance(target, (int, np.integer)):
            record = self.catalog.get(int(target))
            if record is None:
                raise KeyError(f"no file with id {target} in the catalog")
        else:
            record = self.catalog.get_by_path(Path(target))
        if record is not None:
            for name in spaces:  # a metadata-only file has no audio vector
                if record.id in self.lib[name]:
                    return record.id, self.lib[name].get([record.id])[0], name
            if isinstance(target, (int, np.integer)):
                raise KeyError(f"{record.path} is not indexed yet (run `soundsearch index`)")
        from soundsearch.model.pipeline import decode_one, example_record

        decoded = decode_one(example_record(Path(target)), self.model.sample_rate,
                             float(self.settings.long_file_seconds or 0))
        if decoded.wave is None:
            raise ValueError(f"cannot use {target} as an example: {decoded.error}")
        return (record.id if record else None), normalize(self.model.embed_audio([decoded.wave]))[0], "sounds"

    def browse(self, filters: Filters | None = None, k: int = 500, sort: str = "path",
               descending: bool = False, collapse: bool = False) -> tuple[list[Hit], int]:
        """The library itself, no query: the first ``k`` files passing ``filters`` in ``sort`` order
        (embedded or not), and how many pass in all. With ``collapse`` identical files count once."""
        ids = self.table.ids if filters is None or not filters.active else self._allowed(filters)
        if collapse and (self.copies or self.near_copies):
            lead = {i: min(self.copies_group(i)) for i in set(self.copies) | set(self.near_copies)}
            ids = np.array([i for i in ids.tolist() if lead.get(i, i) == i], np.int64)
        total = len(ids)
        ids = self.table.ordered(ids, sort, descending)[:k]
        hits = self._hits(ids, np.zeros(len(ids), np.float32), [], k)
        return (self.collapse_copies(hits) if collapse else hits), total

    # ---- duplicates ----------------------------------------------------------------------------
    def collapse_copies(self, hits: list[Hit]) -> list[Hit]:
        """One row per content: the best-ranked file of each set of identical files stays, with the
        paths of the others in ``copies`` (a library bought twice is one sound, not 17 rain.ogg)."""
        seen, out = set(), []
        for hit in hits:
            group = self.copies_group(hit.file_id)
            if group is None:
                out.append(hit)
                continue
            if group[0] in seen:
                continue
            seen.add(group[0])
            others = [r.path for r in self.catalog.get_many([i for i in group if i != hit.file_id])]
            out.append(dataclasses.replace(hit, copies=tuple(sorted(others))))
        return out

    def copies_group(self, file_id: int) -> tuple[int, ...] | None:
        """Every id of ``file_id``'s sound (sorted; identical files and near copies), or None."""
        exact = self.copies.get(file_id)
        near = self.near_copies.get(file_id)
        if exact is None and near is None:
            return None
        ids = set(exact or ()) | set(near or ())
        for i in list(ids):  # an identical copy of a near copy belongs too
            ids.update(self.copies.get(i, ()))
        return tuple(sorted(ids))

    def copies_of(self, file_id: int) -> list[Hit]:
        """Every file with the same content as ``file_id`` (itself first), as score-less hits."""
        group = self.copies_group(int(file_id)) or (int(file_id),)
        order = [int(file_id)] + [i for i in group if i != int(file_id)]
        records = {r.id: r for r in self.catalog.get_many(order)}
        return [Hit(i, records[i].path, 0.0, records[i], []) for i in order if i in records]

    def _hits(self, ids: np.ndarray, scores: np.ndarray, terms: list[str], k: int) -> list[Hit]:
        """The first ``k`` ranked ids that are still files on disk: one deleted since the last scan
        is not offered (it could be neither auditioned nor dragged); a stat costs ~10 µs."""
        score_of = dict(zip(ids.tolist(), scores.tolist()))
        wanted = set(terms)
        hits: list[Hit] = []
        for start in range(0, len(ids), k + GONE_SLACK):
            for r in self.catalog.get_many(ids[start:start + k + GONE_SLACK].tolist()):
                if os.path.exists(r.path):
                    hits.append(Hit(r.id, r.path, float(score_of[r.id]), r, matched_fields(r, wanted)))
                    if len(hits) == k:
                        return hits
        return hits


def matched_fields(record: FileRecord, terms: set[str], limit: int = 6) -> list[str]:
    out = []
    for f in record.metadata.fields:
        if terms and terms & set(tokenize(f.value)):
            value = f.value if len(f.value) <= 80 else f.value[:77] + "..."
            entry = f"{f.name}: {value}"
            if entry not in out:
                out.append(entry)
        if len(out) >= limit:
            break
    return out


def _query_name_terms(free: str) -> list[str]:
    """The query as a whole file name or CatID, with and without an extension."""
    stem = re.sub(r"\.[A-Za-z0-9]{2,4}$", "", free.strip())
    return list(dict.fromkeys(name_terms(free) + name_terms(stem)))


def _typing(free: str, terms: list[str]) -> str | None:
    """The query's last word while it may still be being typed (no space after it)."""
    return terms[-1] if terms and free and not free[-1].isspace() else None


def field_score(cosine):
    """A best field's cosine above FIELD_FLOOR, rescaled to 0..1 (a number or an array)."""
    return np.maximum(0.0, np.asarray(cosine, np.float32) - FIELD_FLOOR) / (1.0 - FIELD_FLOOR)


def _without(ids: np.ndarray, drop: Sequence[int]) -> np.ndarray:
    return np.setdiff1d(ids, np.asarray(list(drop), np.int64))


def _known(index, ids: Sequence[int]) -> np.ndarray:
    return np.array([i for i in ids if int(i) in index], np.int64)


class WordSearch(SearchEngine):
    """The engine's word side alone, no model: file names, tags and filters. It answers while the
    model loads (seconds after launch) and ranks as the engine ranks a file not embedded yet: the
    catalog's BM25 (FTS5) over the metadata text divided by the query's ideal score, an exact name
    or CatID first. Browsing, duplicates and hits come from the engine unchanged; by-sound calls
    (similar, refine) need the model and are not offered here."""

    def __init__(self, catalog, settings: Settings | None = None):
        self.catalog, self.model = catalog, None
        self.settings = settings or Settings()
        self._table: LibraryTable | None = None
        self._copies: dict[int, tuple[int, ...]] | None = None
        self._lexical_memo = None
        self._rows_seen = 0
        self._tag_tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.near_copies: dict[int, tuple[int, ...]] = {}

    def __len__(self) -> int:
        return 0  # nothing is searchable by its sound

    def search(self, text: str, k: int = 50, filters: Filters | None = None, mode: str = "hybrid",
               liked: Sequence[int] = (), disliked: Sequence[int] = ()) -> list[Hit]:
        if mode == "audio":
            return []
        free, parsed = parse_query(text)
        allowed = self._allowed(parsed.merged(filters))
        blocked = [int(i) for i in disliked]
        terms = tokenize(free)
        if not free.strip():
            ids = self.table.ids if allowed is None else allowed
            ids = ids[~np.isin(ids, blocked)][:k + GONE_SLACK]
            return self._hits(ids, np.zeros(len(ids), np.float32), terms, k)
        self._lexical_memo = None
        words = terms + _query_name_terms(free)
        ids, raw, ideal = self._lexical(words, LEXICAL_POOL * 4, _typing(free, terms))
        keep = ~np.isin(ids, blocked)
        if allowed is not None:
            keep &= np.isin(ids, allowed)
        ids, raw = ids[keep], raw[keep]
        scores = raw / max(ideal, 1e-9)  # not capped at 1: no cosine to weigh
        scores = (scores + EXACT_BOOST * np.isin(ids, self._exact_matches(free, allowed))).astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        return self._hits(ids[order], scores[order], terms, k)

    def catch_up(self, window: float | None = None) -> int:
        self._table = self._copies = None  # newly scanned files: filters and copies must know them
        return 0

    def refresh(self) -> None:
        self._table = self._copies = None
