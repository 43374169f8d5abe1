"""CSV/TSV metadata sheets, as library vendors ship them: one row per file, a filename column and
description / keywords / category columns. Columns are found by their header names (any case),
so "File Name", "FILENAME" and "filename" all work; a sheet without a filename column is not a
metadata sheet and is ignored. Each sheet is parsed once per scan and kept in ``ctx.cache``.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from soundsearch.library.metadata import Field, ReadContext
from soundsearch.library.metadata.names import decode_file_text, field_name, known
from soundsearch.userfiles import read_bytes

log = logging.getLogger(__name__)

SHEET_EXTENSIONS = (".csv", ".tsv")
MAX_SHEET_BYTES = 32 * 1024 * 1024
# Rows kept per sheet, and only the cells of the columns used: a 1M-row sheet cost 400 MB in each
# scan worker when every row was kept whole. A file a capped sheet has no row for is told so.
MAX_ROWS = 200_000
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")
# Filename column headers, best first ("name" only when nothing better is there).
_FILENAME_HEADERS = ("filename", "file name", "soundfile", "sound file", "file", "filepath", "file path",
                     "path", "name")


@dataclass
class Sheet:
    name: str
    columns: list[tuple[int, str, str]] = field(default_factory=list)  # (cell index, field, header)
    rows: dict[str, tuple[str, ...]] = field(default_factory=dict)  # casefolded name or stem -> cells
    capped: int = 0  # rows left unread past MAX_ROWS (0: the whole sheet was read)

    def fields_for(self, path: Path) -> list[Field]:
        row = self.rows.get(path.name.casefold()) or self.rows.get(path.stem.casefold())
        if row is None:
            return []
        out = []
        for index, name, header in self.columns:
            if index < len(row) and (value := row[index].strip()):
                out.append(Field(name, value, f"sheet:{self.name}:{header}"))
        return out


def _norm(header: str) -> str:
    return " ".join(header.replace("_", " ").replace("-", " ").casefold().split())


def _delimiter(first_line: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    return max((",", ";", "\t"), key=first_line.count)


def parse_sheet(path: Path) -> Sheet | None:
    """The sheet's rows keyed by file name, or None when it has no filename column."""
    data = read_bytes(path, MAX_SHEET_BYTES + 1)  # regular files only: a pipe would hang the scan
    if len(data) > MAX_SHEET_BYTES:
        raise ValueError(f"sheet {path.name} is larger than {MAX_SHEET_BYTES // 2**20} MiB")
    text = decode_file_text(data)
    del data
    first_line = text.split("\n", 1)[0]
    # lines handed over one at a time: a StringIO of the whole sheet held it again as 4-byte
    # characters (120 MB for a 30 MB sheet); csv joins the lines of a quoted multi-line cell itself
    lines = (m.group() for m in _LINE.finditer(text))
    reader = csv.reader(lines, delimiter=_delimiter(first_line, path.suffix.lower()))
    header = next(reader, None)
    if not header:
        return None
    normed = [_norm(h) for h in header]
    file_col = next((normed.index(h) for h in _FILENAME_HEADERS if h in normed), None)
    if file_col is None:
        return None
    sheet = Sheet(name=path.name)
    used: list[int] = []  # the csv columns kept, in the order of sheet.columns
    for i, h in enumerate(header):
        if i == file_col:
            continue
        if known(h):
            sheet.columns.append((len(used), field_name(h), h.strip()))
            used.append(i)
        elif normed[i] == "name":
            sheet.columns.append((len(used), "title", h.strip()))
            used.append(i)
    for count, row in enumerate(reader):
        if count >= MAX_ROWS:
            sheet.capped = 1 + sum(1 for _ in reader)
            log.warning("sheet %s: only the first %d rows are read", path, MAX_ROWS)
            break
        if file_col >= len(row) or not (cell := row[file_col].strip()):
            continue
        base = cell.replace("\\", "/").rsplit("/", 1)[-1].casefold()
        cells = tuple(row[i] if i < len(row) else "" for i in used)
        sheet.rows.setdefault(base, cells)
        if "." in base:
            sheet.rows.setdefault(base.rsplit(".", 1)[0], cells)
    return sheet


def listing(folder: Path, ctx: ReadContext) -> dict[str, str]:
    """Casefolded name -> real name of the entries of ``folder``, listed once per scan."""
    key = ("listdir", folder)
    names = ctx.cache.get(key)
    if names is None:
        try:
            names = {p.name.casefold(): p.name for p in folder.iterdir()}
        except OSError:
            names = {}
        ctx.cache[key] = names
    return names


def _folder_sheets(folder: Path, ctx: ReadContext) -> list[Sheet | str]:
    """Parsed sheets of one folder (a str stands for a sheet that failed to parse)."""
    key = ("sheets", folder)
    sheets = ctx.cache.get(key)
    if sheets is None:
        sheets = []
        for real in sorted(listing(folder, ctx).values()):
            if not real.lower().endswith(SHEET_EXTENSIONS) or real.startswith("."):
                continue
            try:
                sheet = parse_sheet(folder / real)
            except (OSError, ValueError, csv.Error) as exc:
                sheets.append(f"bad sheet {real}: {exc}")
                continue
            if sheet is not None:
                sheets.append(sheet)
        ctx.cache[key] = sheets
    return sheets


def _folders(path: Path, root: Path | None) -> list[Path]:
    """The file's folder and its parents up to the root, nearest first."""
    folder = path.parent
    if root is None:
        return [folder]
    try:
        depth = len(folder.relative_to(root).parts)
    except ValueError:
        return [folder]
    return [folder, *list(folder.parents)[:depth]]


def sheet_fields(path: Path, ctx: ReadContext) -> tuple[list[Field], list[str]]:
    """Fields from every sheet in the file's folder and its parents (nearest first), and problems."""
    key = ("sheet-chain", os.path.dirname(path), ctx.root)  # str, not Path: hashed for every file
    chain = ctx.cache.get(key)
    if chain is None:  # the same for every file of the folder
        chain = [s for folder in _folders(path, ctx.root) for s in _folder_sheets(folder, ctx)]
        ctx.cache[key] = chain
    fields: list[Field] = []
    problems: list[str] = []
    for sheet in chain:
        if isinstance(sheet, str):
            problems.append(sheet)
        else:
            got = sheet.fields_for(path)
            fields += got
            if not got and sheet.capped:
                problems.append(f"sheet {sheet.name}: only its first {MAX_ROWS:,} rows were read "
                                f"({sheet.capped:,} more), none for this file")
    return fields, problems
