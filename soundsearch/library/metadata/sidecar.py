"""Files beside the sound that describe it: same-stem ``.txt`` / ``.json`` / ``.xml`` / ``.yaml``
("door_01.txt" or "door_01.wav.txt"), folder-level description files (README.txt, description.txt,
info.txt ...) and CSV/TSV metadata sheets in the folder or its parents up to the root (:mod:`sheets`).

Folder listings, folder descriptions and sheets are read once per scan (``ctx.cache``), so a file
costs a few dictionary look-ups unless it has its own sidecar. Structured sidecars are parsed
safely: JSON and YAML (safe loader) into plain data, XML by :mod:`safexml`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from soundsearch.library.metadata import Field, ReadContext, ReaderError, register
from soundsearch.library.metadata.names import decode_file_text, field_name, known
from soundsearch.library.metadata.safexml import local
from soundsearch.library.metadata.safexml import parse as parse_xml
from soundsearch.library.metadata.sheets import listing, sheet_fields
from soundsearch.library.metadata.words import stem
from soundsearch.userfiles import read_bytes

try:  # PyYAML is pinned, but a tiny "key: value" reader keeps the feature without it
    import yaml
except ImportError:  # pragma: no cover - depends on the environment
    yaml = None

SIDECAR_EXTENSIONS = (".txt", ".json", ".xml", ".yaml", ".yml")
FOLDER_FILES = ("readme.txt", "readme.md", "readme", "read me.txt", "description.txt",
                "descriptions.txt", "info.txt", "about.txt", "notes.txt")
MAX_SIDECAR_BYTES = 1024 * 1024
MAX_FIELDS = 200
MAX_FOLDER_DESCRIPTION_CHARS = 400

_KEY_VALUE = re.compile(r"^\s*([^:#\s][^:]{0,60}?)\s*:\s*(.+?)\s*$")


def _read_bytes(path: Path, strict: bool = True) -> bytes:
    """At most MAX_SIDECAR_BYTES; a longer structured file is refused, a longer text is cut."""
    data = read_bytes(path, MAX_SIDECAR_BYTES + 1)  # regular files only: a pipe would hang the scan
    if len(data) > MAX_SIDECAR_BYTES and not strict:
        return data[:MAX_SIDECAR_BYTES]
    if len(data) > MAX_SIDECAR_BYTES:
        raise ValueError(f"larger than {MAX_SIDECAR_BYTES // 1024} KiB")
    return data


def _scalars(value: object) -> list[str]:
    """Text of a scalar or a flat list of scalars. Nested containers are not walked, which also
    keeps YAML alias bombs (lists of lists of the same list) from multiplying."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value).strip()] if str(value).strip() else []
    if isinstance(value, list):
        texts = [str(v).strip() for v in value[:MAX_FIELDS] if isinstance(v, str | int | float)]
        return [", ".join(t for t in texts if t)] if any(texts) else []
    return []


def mapping_fields(data: object, source: str, depth: int = 0) -> list[Field]:
    """Known keys of a JSON/YAML mapping (and of mappings nested one or two levels down, as in
    {"metadata": {...}}); a bare list of strings is read as keywords."""
    fields: list[Field] = []
    if isinstance(data, list) and depth == 0:
        return [Field("keywords", t, source) for t in _scalars(data)]
    if not isinstance(data, dict):
        return fields
    for key, value in list(data.items())[:MAX_FIELDS]:
        key = str(key)
        if isinstance(value, dict) and depth < 2:
            fields += mapping_fields(value, source, depth + 1)
        elif known(key) or key.casefold() == "name":
            name = "title" if key.casefold() == "name" else field_name(key)
            fields += [Field(name, t, f"{source}:{key}") for t in _scalars(value)]
    return fields[:MAX_FIELDS]


def xml_fields(data: bytes, source: str) -> list[Field]:
    fields: list[Field] = []
    for elem in parse_xml(data).iter():
        tag = local(elem.tag)
        text = (elem.text or "").strip()
        if text and (known(tag) or tag.casefold() == "name"):
            name = "title" if tag.casefold() == "name" else field_name(tag)
            fields.append(Field(name, text, f"{source}:{tag}"))
        for key, value in elem.attrib.items():
            if known(local(key)) and value.strip():
                fields.append(Field(field_name(local(key)), value.strip(), f"{source}:{tag}@{key}"))
        if len(fields) >= MAX_FIELDS:
            break
    return fields


def yaml_fields(data: bytes, source: str) -> list[Field]:
    text = decode_file_text(data)
    if yaml is not None:
        return mapping_fields(yaml.safe_load(text), source)
    pairs = {m.group(1): m.group(2).strip("'\"") for m in map(_KEY_VALUE.match, text.splitlines()) if m}
    return mapping_fields(pairs, source)


def sidecar_fields(file: Path) -> list[Field]:
    source = f"sidecar:{file.name}"
    suffix = file.suffix.lower()
    data = _read_bytes(file, strict=suffix != ".txt")
    if suffix == ".txt":
        text = decode_file_text(data).strip()
        return [Field("description", text, source)] if text else []
    if suffix == ".json":
        return mapping_fields(json.loads(decode_file_text(data)), source)
    if suffix == ".xml":
        return xml_fields(data, source)
    return yaml_fields(data, source)


def _first_paragraph(text: str) -> str:
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip().lstrip("#*=-> ").strip() for ln in block.splitlines()]
        paragraph = " ".join(ln for ln in lines if ln)
        if paragraph:
            return paragraph[:MAX_FOLDER_DESCRIPTION_CHARS]
    return ""


def folder_description(folder: Path, ctx: ReadContext) -> list[Field]:
    key = ("folder-description", folder)
    cached = ctx.cache.get(key)
    if cached is None:
        cached = []
        names = listing(folder, ctx)
        for candidate in FOLDER_FILES:
            real = names.get(candidate)
            if real is None:
                continue
            try:
                text = _first_paragraph(decode_file_text(_read_bytes(folder / real, strict=False)))
            except (OSError, ValueError):
                continue  # a folder note we cannot read is not this file's problem
            if text:
                cached.append(Field("folder_description", text, f"sidecar:{real}"))
        ctx.cache[key] = cached
    return cached


@dataclass
class _Folder:
    """What the sidecar reader needs of one folder, worked out once per scan (ctx.cache): most
    folders have no same-stem sidecars, and then a file costs one look-up here."""

    path: Path
    names: dict[str, str]  # casefolded name -> real name
    sidecars: bool  # any entry with a sidecar extension at all?


def _folder(path: Path, ctx: ReadContext) -> _Folder:
    key = ("sidecar-folder", os.path.dirname(path))  # a str key: hashing Path objects is slow
    here = ctx.cache.get(key)
    if here is None:
        folder = path.parent
        names = listing(folder, ctx)
        here = ctx.cache[key] = _Folder(folder, names, any(n.endswith(SIDECAR_EXTENSIONS) for n in names))
    return here


@register("sidecar")
def read(path: Path, ctx: ReadContext) -> list[Field]:
    here = _folder(path, ctx)
    folder, names = here.path, here.names
    fields: list[Field] = []
    problems: list[str] = []
    done: set[str] = set()
    for base in (stem(path.name), path.name) if here.sidecars else ():
        for ext in SIDECAR_EXTENSIONS:
            real = names.get((base + ext).casefold())
            if real is None or real in done or real == path.name:
                continue
            done.add(real)
            try:
                fields += sidecar_fields(folder / real)
            except Exception as exc:  # noqa: BLE001 — JSON/XML/YAML errors all mean "bad sidecar"
                problems.append(f"bad sidecar {real}: {exc or type(exc).__name__}")
    if path.name.casefold() not in FOLDER_FILES:
        fields += folder_description(folder, ctx)
    got, sheet_problems = sheet_fields(path, ctx)
    fields += got
    problems += sheet_problems
    if problems:
        raise ReaderError("; ".join(problems), fields)
    return fields
