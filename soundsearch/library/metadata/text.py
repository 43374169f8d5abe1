"""The metadata text: what the model embeds for a file.

The text encoder sees at most 32 tokens (lowercased, punctuation stripped), so order is meaning:
the most specific words come first — the sound's own name and description, then its category,
keywords, the words of its file name and folders, and the UCS synonyms last and few. Words already
said are not repeated; the whole is bounded. Same fields in, same text out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from soundsearch.library.metadata.names import fix_surrogates
from soundsearch.library.metadata.words import meaningful

if TYPE_CHECKING:  # the dataclass lives in the package __init__, which imports this module
    from soundsearch.library.metadata import Field

MAX_WORDS = 60
MAX_VALUE_CHARS = 4000

# (field name, words at most from this field). Fields not listed never reach the text: they are
# production data (scene, take, originator, software, dates) that no query describes.
_PLAN: tuple[tuple[str, int], ...] = (
    ("fxname", 12),
    ("title", 12),
    ("description", 40),
    ("category", 4),
    ("subcategory", 4),
    ("user_category", 4),
    ("vendor_category", 4),
    ("keywords", 25),
    ("comment", 20),
    ("location", 8),
    ("name_words", 12),
    ("folder_words", 12),
    ("folder_description", 20),
    ("genre", 4),
    ("library", 6),
    ("album", 6),
    ("ucs_synonyms", 8),
)

# Small words a sentence needs; they are never dropped as repeats and do not count as content.
STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "its",
    "of", "on", "or", "the", "to", "with"
))

# Fields written as sentences rather than tag lists.
_SENTENCES = frozenset(("description", "comment", "folder_description"))

# Sentences of a comment that are about the file, not the sound: tools, licences, links
# ("Made with Sonic Foundry ACID 4", "released under GPL", "Copyright (C) 2001 ..."). A capital
# must follow "made with" so that "made with a hammer" stays.
_BOILERPLATE = re.compile(
    r"copyright|©|\(c\)|licen[cs]|released under|\bgpl\b|creative commons|\bcc[ -]?(by|0)\b"
    r"|all rights reserved|https?://|www\.|\S@\S|portion of the file"
    r"|\b(made|created|generated|encoded|edited)\s+(with|using|in|by)\s+(?-i:[A-Z])",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*[\r\n]+\s*")

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LIST_SEP = re.compile(r"[,;|/\n\r\t]+")
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_WORD_KEY = re.compile(r"[\W_]+")


def clean_value(value: str) -> str:
    """One line of plain text: control characters gone, whitespace collapsed, length bounded."""
    value = _CONTROL.sub(" ", fix_surrogates(value))
    value = _SPACE.sub(" ", value).strip()
    return value[:MAX_VALUE_CHARS].strip()


def _key(word: str) -> str:
    return _WORD_KEY.sub("", word.casefold())


def _words(name: str, value: str) -> list[tuple[str, str]]:
    """(word, key) pairs of a value, words without a key dropped. The key is worked out once per
    word: the metadata text is built for every file a scan reads."""
    value = _URL.sub(" ", value)
    if name in ("keywords", "ucs_synonyms"):
        value = _LIST_SEP.sub(" ", value)  # tag lists: "door, wood; slam" -> words
    return [(w, k) for w in value.split() if (k := _key(w))]


def without_boilerplate(value: str) -> str:
    return " ".join(s for s in _SENTENCE_END.split(value) if s and not _BOILERPLATE.search(s))


def _segment(name: str, value: str, budget: int, seen: set[str]) -> list[str]:
    """The words this value adds. Sentences are kept as written (cutting repeated words out of
    "heavy wooden barn door slams shut" would garble it) unless they add nothing new; tag-like
    values lose the words already said."""
    if name in _SENTENCES:
        value = without_boilerplate(value)
    pairs = _words(name, value)
    if name in _SENTENCES:
        if all(k in seen or k in STOPWORDS for _, k in pairs):
            return []
        pairs = pairs[:budget]
    else:
        fresh = []
        for w, k in pairs:
            if k in STOPWORDS or k not in seen:
                fresh.append((w.strip(",;:") or w, k))  # stripping punctuation keeps the key
                seen.add(k)
        pairs = fresh[:budget]
    # Small words ("a door slam in the") read badly at the end of a cut; drop them.
    while pairs and pairs[-1][1] in STOPWORDS:
        pairs.pop()
    seen.update(k for _, k in pairs)
    return [w for w, _ in pairs]


def build_text(fields: Iterable[Field]) -> str:
    """The metadata text for these fields; "" when none of them carries a word. Segments (one per
    field value) are joined with ", "; the whole is at most MAX_WORDS words."""
    fields = list(fields)
    by_name: dict[str, list[str]] = {}
    for f in fields:
        by_name.setdefault(f.name, []).append(f.value)
    # A UCS name's FXName already is the name's meaningful part; its CreatorID/SourceID are codes.
    skip = {"name_words"} if any(f.name == "fxname" and f.source == "ucs" for f in fields) else set()

    segments: list[str] = []
    seen: set[str] = set()
    total = 0
    for name, limit in _PLAN:
        if name in skip:
            continue
        taken = 0
        for value in by_name.get(name, ()):
            if name == "title" and not meaningful(value):
                continue  # "Track 01", "Audio 12": a DAW's default, not a title
            budget = min(limit - taken, MAX_WORDS - total)
            if budget <= 0:
                break
            words = _segment(name, value, budget, seen)
            if words:
                segments.append(" ".join(words).rstrip(".,;:!?"))
                taken += len(words)
                total += len(words)
    return ", ".join(s for s in segments if s)


MAX_FIELDS = 8


def text_fields(text: str) -> list[str]:
    """The segments of a metadata text (what :func:`build_text` joined with ", ", and any commas a
    description carries), each a phrase of its own: the name, the description, the folders.

    Search scores a file by its best-matching segment beside the whole text: "crossbow fire" is the
    whole name of one file and one word of another's folder path, and the whole text's single vector
    dilutes a name with its folder words. A text with one segment has no fields apart from itself
    ([]); at most MAX_FIELDS, repeats dropped."""
    out: list[str] = []
    seen: set[str] = set()
    for part in text.split(","):
        part = part.strip()
        key = part.casefold()
        if part and key not in seen:
            seen.add(key)
            out.append(part)
    return out[:MAX_FIELDS] if len(out) > 1 else []
