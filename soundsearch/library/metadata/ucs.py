"""Universal Category System names: ``CatID[-UserCategory]_FXName_CreatorID_SourceID[_UserData]``.

A recognised CatID expands to its category, subcategory and synonyms from the UCS 8.2.1 table
(CC0, shipped in resources/ucs/). Recognition is strict so that ordinary names are never misread:
the CatID must match the table exactly, case included ("DOORWood", not "Door" or "doorwood"), and
an FXName with at least one letter must follow it ("RAIN_01" is a take number, not a name).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from soundsearch import paths
from soundsearch.library.metadata import Field, ReadContext, register
from soundsearch.library.metadata.words import stem

log = logging.getLogger(__name__)

UCS_VERSION = "8.2.1"
TABLE_NAME = f"ucs-{UCS_VERSION}-en.json"


@dataclass(frozen=True)
class UcsEntry:
    catid: str
    category: str
    subcategory: str
    explanation: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class UcsName:
    entry: UcsEntry
    fxname: str
    user_category: str = ""
    creator_id: str = ""
    source_id: str = ""
    user_data: str = ""


def table_path() -> Path:
    return paths.resources_dir() / "ucs" / TABLE_NAME


@lru_cache(maxsize=1)
def table() -> dict[str, UcsEntry]:
    """CatID -> entry, loaded once per process."""
    with open(table_path(), encoding="utf-8") as f:
        rows = json.load(f)
    return {
        row["CatID"]: UcsEntry(
            catid=row["CatID"],
            category=row.get("Category", ""),
            subcategory=row.get("SubCategory", ""),
            explanation=row.get("Explanations", ""),
            synonyms=tuple(row.get("Synonyms") or ()),
        )
        for row in rows
    }


def lookup(catid: str) -> UcsEntry | None:
    return table().get(catid.strip())


def parse_name(stem: str) -> UcsName | None:
    """The UCS reading of a file stem, or None when it is not a UCS name."""
    parts = stem.split("_")
    if len(parts) < 2:
        return None
    catid, _, user_category = parts[0].partition("-")
    entry = table().get(catid)
    fxname = parts[1].strip()
    if entry is None or not any(c.isalpha() for c in fxname):
        return None
    rest = [p.strip() for p in parts[2:]]
    return UcsName(
        entry=entry,
        fxname=fxname,
        user_category=user_category.strip(),
        creator_id=rest[0] if len(rest) > 0 else "",
        source_id=rest[1] if len(rest) > 1 else "",
        user_data="_".join(rest[2:]),
    )


def entry_fields(entry: UcsEntry, source: str = "ucs") -> list[Field]:
    fields = [
        Field("catid", entry.catid, source),
        Field("category", entry.category, source),
        Field("subcategory", entry.subcategory, source),
    ]
    if entry.synonyms:
        fields.append(Field("ucs_synonyms", ", ".join(entry.synonyms), source))
    return fields


@register("ucs")
def read(path: Path, ctx: ReadContext) -> list[Field]:
    parsed = parse_name(stem(path.name))
    if parsed is None:
        return []
    fields = [Field("fxname", parsed.fxname, "ucs")]
    fields += entry_fields(parsed.entry)
    for name in ("user_category", "creator_id", "source_id", "user_data"):
        value = getattr(parsed, name)
        if value:
            fields.append(Field(name, value, "ucs"))
    return fields


def expand_tagged_catids(fields: list[Field]) -> list[Field]:
    """Category, subcategory and synonyms for a CatID written in tags (iXML USER/CATID, a sheet)
    when the file name itself is not UCS; [] when the name already was, or the CatID is unknown."""
    if any(f.source == "ucs" for f in fields):
        return []
    for f in fields:
        if f.name == "catid":
            entry = lookup(f.value)
            if entry is not None:
                return entry_fields(entry, source=f"ucs:{f.source}")
    return []


def search(text: str, limit: int = 50) -> list[UcsEntry]:
    """UCS entries for what the user types into a picker: a CatID, category or subcategory word,
    or a synonym ("bang" finds WOODImpt, METLImpt …). Best matches first: CatID, then
    category/subcategory, then synonyms, then the explanation."""
    words = [w for w in text.casefold().split() if w]
    if not words:
        return list(table().values())[:limit]
    scored = []
    for entry in table().values():
        names = f"{entry.category} {entry.subcategory}".casefold()
        synonyms = [s.casefold() for s in entry.synonyms]
        score = 0
        for w in words:
            if entry.catid.casefold() == w:
                score += 100
            elif entry.catid.casefold().startswith(w):
                score += 40
            elif any(part.startswith(w) for part in names.replace("-", " ").split()):
                score += 20
            elif any(s == w for s in synonyms):
                score += 10
            elif any(s.startswith(w) for s in synonyms):
                score += 5
            elif w in entry.explanation.casefold():
                score += 1
            else:
                score = 0
                break
        if score:
            scored.append((-score, entry.catid, entry))
    return [e for _s, _c, e in sorted(scored)[:limit]]
