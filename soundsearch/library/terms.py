"""The words a file is found by: one tokenizer for the lexical ranking and the word filters.

``doc_terms`` is what the ranked lexical index holds for a file (its metadata text, plus its whole
file name and CatIDs as single rare terms); ``filter_terms`` what a ``+word`` / ``-word`` filter
looks at (names, folders, the library folder's own name, tags). Both are computed here when a row is
written, and stored in the catalog's search tables (:mod:`~soundsearch.library.search_tables`).
"""

from __future__ import annotations

import functools
import os
import re

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
STOPWORDS = frozenset(["a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "into", "is", "it",
                       "of", "on", "or", "the", "to", "with"])

# Fields whose words a +word / -word filter looks at, beside the file's name and folders: what the
# file says about its sound (the metadata text keeps only the first 60 words of these, so a long
# description would otherwise push the folder words out of the filter's reach).
WORD_FIELDS = frozenset(("fxname", "title", "description", "category", "subcategory", "user_category",
                         "vendor_category", "keywords", "comment", "location", "name_words", "folder_words",
                         "folder_description", "genre", "library", "album"))


@functools.lru_cache(maxsize=1 << 16)  # a library's words repeat: a scan stems each a few times
def stem(word: str) -> str:
    """Plural / verb-ending folding, enough for "doors"/"door", "slamming"/"slam" (not a full stemmer)."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("es", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + keep
            if keep == "" and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # slamming → slamm → slam
            break
    return word


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed word tokens; camelCase and snake_case are split."""
    text = _CAMEL.sub(" ", text).lower()
    return [stem(w) for w in _WORD.findall(text) if w not in STOPWORDS]


def name_terms(name: str) -> list[str]:
    """Whole-name tokens (a file stem such as "door_wood_slam_03", a CatID such as "DOORWood"), so
    that typing the exact name matches one rare term instead of several common words."""
    compact = re.sub(r"[^a-z0-9]+", "", name.lower())
    return [f"={compact}"] if compact else []


def filter_terms(record) -> set[str]:
    """Every word a +word / -word filter matches: tags, the file name and its folders, the library
    folder's own name included (a root ".../Music" says "music" of every file in it, though the
    metadata text only has the folders below the root)."""
    parts = [record.path.stem, record.root.name, *record.folder.parts, record.metadata.text]
    parts += [f.value for f in record.metadata.fields if f.name in WORD_FIELDS]
    return set(tokenize(" ".join(parts)))


def doc_terms(record) -> list[str]:
    """What the ranked lexical index holds for a file: its metadata text, plus its whole file name
    and CatIDs as single terms (so typing "DOORWood_Slam_03" or "DOORWood" matches one rare term)."""
    md = record.metadata
    terms = tokenize(md.text)
    terms += name_terms(record.path.stem)
    for catid in md.get("catid"):
        terms += name_terms(catid)
    return terms


def facet_values(record) -> tuple[str, str, str, str, str]:
    """(format, folder, lowercase file name, category words, keywords) as filters and sorting use them."""
    md = record.metadata
    return ((record.format or record.path.suffix.lstrip(".")).lower(), os.fsdecode(record.path.parent),
            os.fsdecode(record.path.name).lower(),
            " ".join(md.get("category") + md.get("subcategory") + md.get("catid")).lower(),
            " ".join(md.get("keywords")).lower())
