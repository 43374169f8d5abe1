"""The user's own metadata edits and how they combine with what the files say.

An edit is a value per field name (``{"description": "big wooden door", "keywords": "door, slam"}``),
stored in the catalog row's user data. It *replaces* every field of that name read from the file
(an empty value hides them); other fields stay. The scanner keeps writing what the files say, so
an edit survives rescans, moves (the row follows the file) and undo (the file's own fields come
back). A CatID edit brings its UCS category, subcategory and synonyms unless those are edited too.

Batch operations (set, append, find-and-replace) are pure functions here; the catalog applies
their result in one transaction with an undo entry (:mod:`edit_log`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from soundsearch.library.metadata import Field, Metadata
from soundsearch.library.metadata.text import build_text, clean_value

# What the editor offers, in the order it shows them: (field name, label).
EDITABLE: tuple[tuple[str, str], ...] = (
    ("fxname", "Name (FXName)"),
    ("description", "Description"),
    ("keywords", "Keywords"),
    ("category", "Category"),
    ("subcategory", "Subcategory"),
    ("catid", "CatID"),
    ("designer", "Designer"),
    ("recordist", "Recordist"),
    ("library", "Library"),
)
EDITABLE_NAMES = tuple(name for name, _ in EDITABLE)
SOURCE = "user"  # the provenance of an edited field
_UCS_DERIVED = ("category", "subcategory", "ucs_synonyms")


class EditError(ValueError):
    """An edit that cannot be made (unknown field, a find-replace with a bad pattern …)."""


def check_field(name: str) -> str:
    name = name.strip().casefold()
    if name not in EDITABLE_NAMES:
        raise EditError(f"cannot edit {name!r}: editable fields are {', '.join(EDITABLE_NAMES)}")
    return name


def current_value(metadata: Metadata, name: str) -> str:
    """The value a field shows now (edited or read from the file); keywords are joined with ", "."""
    values = metadata.get(name)
    return ", ".join(values) if name == "keywords" else (values[0] if values else "")


def apply_edits(scanned: Metadata, edits: dict[str, str], text: str | None = None) -> Metadata:
    """The metadata a file shows: ``scanned`` with ``edits`` in place of the same-named fields.

    ``text`` is the stored metadata text when the caller has it (building it costs more than the
    rest); otherwise it is built here."""
    if not edits:
        return scanned
    fields = [Field(name, value, SOURCE) for name, value in edits.items() if value]
    hidden = set(edits)
    if edits.get("catid"):
        from soundsearch.library.metadata import ucs

        entry = ucs.lookup(edits["catid"])
        if entry is not None:
            derived = ucs.entry_fields(entry, source="ucs:user")
            fields += [f for f in derived if f.name not in edits and f.name != "catid"]
            hidden |= set(_UCS_DERIVED)
    fields += [f for f in scanned.fields if f.name not in hidden]
    return Metadata(fields=fields, text=build_text(fields) if text is None else text,
                    errors=list(scanned.errors))


def effective_text(scanned: Metadata, edits: dict[str, str]) -> str:
    return apply_edits(scanned, edits).text if edits else scanned.text


def normalise(edits: dict[str, str]) -> dict[str, str]:
    """Edits as stored: known fields, one-line values (keywords tidied to "a, b, c")."""
    out: dict[str, str] = {}
    for name, value in edits.items():
        name = check_field(name)
        value = clean_value(value or "")
        if name == "keywords":
            value = join_keywords(split_keywords(value))
        out[name] = value
    return out


def split_keywords(value: str) -> list[str]:
    return [w.strip() for w in re.split(r"[,;\n]+", value) if w.strip()]


def join_keywords(words: list[str]) -> str:
    seen: dict[str, str] = {}
    for w in words:
        seen.setdefault(w.casefold(), w)
    return ", ".join(seen.values())


@dataclass(frozen=True)
class BatchOp:
    """One batch change: ``set`` a value, ``append`` to it (keywords: add words), or ``replace``
    ``find`` by ``value`` (plain text, case-insensitive) in the field's current value."""

    kind: str  # set | append | replace | clear
    name: str
    value: str = ""
    find: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("set", "append", "replace", "clear"):
            raise EditError(f"unknown batch operation {self.kind!r}")
        object.__setattr__(self, "name", check_field(self.name))
        if self.kind == "replace" and not self.find:
            raise EditError("find-and-replace needs the text to find")

    def new_value(self, current: str) -> str:
        if self.kind == "set":
            return self.value
        if self.kind == "clear":
            return ""
        if self.kind == "append":
            if self.name == "keywords":
                return join_keywords(split_keywords(current) + split_keywords(self.value))
            if not current:
                return self.value
            return current if self.value.casefold() in current.casefold() else f"{current} {self.value}"
        return re.sub(re.escape(self.find), lambda _m: self.value, current, flags=re.IGNORECASE)


def plan_batch(records, ops: list[BatchOp]) -> dict[int, dict[str, str]]:
    """file id → the edits that ``ops`` give each record (only records that change). ``records``
    are catalog FileRecords (their ``metadata`` shows current edits, ``edits`` the stored ones)."""
    out: dict[int, dict[str, str]] = {}
    for record in records:
        edits = dict(record.edits)
        shown = record.metadata
        scanned = record.scanned or record.metadata
        for op in ops:
            now = edits[op.name] if op.name in edits else current_value(shown, op.name)
            new = op.new_value(now)
            if new != now or (op.kind in ("set", "clear") and op.name not in edits):
                edits[op.name] = new
                shown = apply_edits(scanned, normalise(edits))
        edits = normalise(edits)
        if edits != record.edits:
            out[record.id] = edits
    return out
