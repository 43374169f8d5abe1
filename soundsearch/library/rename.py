"""Rename a selection to UCS names (``CatID_FXName_CreatorID_SourceID``), previewed, with undo.

:func:`plan_rename` builds the preview without touching anything: each file's new name from its
CatID and FXName (edited or read from the file; the description's first words when it has no
name), or the reason it cannot be renamed. :func:`apply_rename` renames on disk — within the same
folder, never over an existing file — and the catalog rows follow in one undo step (the row keeps
its id, edits, vectors and collections).
"""

from __future__ import annotations

import errno
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from soundsearch.library.metadata import ucs
from soundsearch.library.metadata.sidecar import SIDECAR_EXTENSIONS

log = logging.getLogger(__name__)

MAX_FXNAME = 40
_BAD = re.compile(r'[\x00-\x1f<>:"/\\|?*_]+')  # "_" separates UCS parts, the rest file systems refuse


@dataclass
class RenamePlan:
    file_id: int
    old: Path
    new: Path | None  # None: cannot be renamed (see problem), or already has that name
    problem: str = ""
    sidecars: list[tuple[Path, Path]] = field(default_factory=list)  # files describing it, renamed along

    @property
    def changes(self) -> bool:
        return self.new is not None and self.new != self.old


def _part(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", _BAD.sub(" ", text)).strip(" .-")
    return text[:limit].rstrip(" .-")


def _fxname(metadata) -> str:
    for name in ("fxname", "title"):
        for value in metadata.get(name):
            if value.strip():
                return value
    for value in metadata.get("description"):
        words = re.sub(r"[^\w\s'-]", " ", value).split()[:5]
        if words:
            return " ".join(w[:1].upper() + w[1:] for w in words)
    return ""


def ucs_name(record, creator_id: str = "", source_id: str = "") -> tuple[str, str]:
    """(new file name, "") or ("", why not) for a catalog record."""
    md = record.metadata
    catids = [c for c in md.get("catid") if ucs.lookup(c) is not None]
    if not catids:
        return "", "no UCS CatID (set one first)"
    fxname = _part(_fxname(md), MAX_FXNAME)
    if not fxname:
        return "", "no name or description to name it by"
    creator = _part(creator_id or next(iter(md.get("creator_id")), ""), 20) or "USER"
    source = _part(source_id or next(iter(md.get("source_id")), ""), 30) or "SRC"
    return f"{catids[0]}_{fxname}_{creator}_{source}{record.path.suffix.lower()}", ""


def plan_rename(records, creator_id: str = "", source_id: str = "") -> list[RenamePlan]:
    """The preview: nothing is touched. Names taken by other files (on disk or earlier in the
    plan) get a number after the FXName ("Door Slam 2")."""
    plans: list[RenamePlan] = []
    taken: set[str] = set()
    renamed_away = {str(r.path) for r in records}
    for record in records:
        name, problem = ucs_name(record, creator_id, source_id)
        if problem:
            plans.append(RenamePlan(record.id, record.path, None, problem))
            continue
        target = record.path.with_name(name)
        number = 1
        while target != record.path and (str(target) in taken or (
                os.path.lexists(target) and str(target) not in renamed_away)):
            number += 1
            cat, fx, rest = name.split("_", 2)
            target = record.path.with_name(f"{cat}_{fx} {number}_{rest}")
        taken.add(str(target))
        if target == record.path:
            plans.append(RenamePlan(record.id, record.path, None, "already named so"))
            continue
        plans.append(RenamePlan(record.id, record.path, target, sidecars=_sidecars(record.path, target)))
    return plans


def _sidecars(old: Path, new: Path) -> list[tuple[Path, Path]]:
    """Same-stem (or same-name) .txt/.json/… files that describe the sound: they keep describing
    it only if they are renamed with it."""
    out = []
    for base, new_base in ((old.stem, new.stem), (old.name, new.name)):
        for ext in SIDECAR_EXTENSIONS:
            side = old.with_name(base + ext)
            if os.path.isfile(side) and not os.path.lexists(new.with_name(new_base + ext)):
                out.append((side, new.with_name(new_base + ext)))
    return out


def move_file_safely(src: str | Path, dst: str | Path) -> None:
    """Rename ``src`` to ``dst`` without ever replacing an existing file: a hard link then an
    unlink (atomic no-clobber where links work), else a checked rename (FAT/exFAT drives)."""
    src, dst = os.fspath(src), os.fspath(dst)
    if not os.path.isfile(src):
        raise FileNotFoundError(errno.ENOENT, "file not found", src)
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "a file of that name exists", dst) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def apply_rename(catalog, plans: list[RenamePlan], label: str = "rename to UCS"):
    """Rename the planned files; the catalog follows in one undo step. A file that cannot be
    renamed is reported and the rest go on. Returns (log entry or None, [(path, reason)])."""
    moves: list[tuple[int, str, str]] = []
    failures: list[tuple[Path, str]] = []
    for plan in plans:
        if not plan.changes:
            continue
        if plan.new.parent != plan.old.parent:
            failures.append((plan.old, "renames stay in the file's folder"))
            continue
        try:
            move_file_safely(plan.old, plan.new)
        except OSError as exc:
            failures.append((plan.old, exc.strerror or str(exc)))
            continue
        moves.append((plan.file_id, str(plan.old), str(plan.new)))
        for side, new_side in plan.sidecars:
            try:
                move_file_safely(side, new_side)
                moves.append((None, str(side), str(new_side)))
            except OSError as exc:
                failures.append((side, f"sidecar not renamed: {exc.strerror or exc}"))
    try:
        entry = catalog.record_rename(moves, label)
    except BaseException:
        for _file_id, old, new in reversed(moves):  # the catalog refused: put the names back
            try:
                move_file_safely(new, old)
            except OSError:
                log.exception("could not rename %s back to %s", new, old)
        raise
    return entry, failures
