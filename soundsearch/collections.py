"""Favourites and named collections of sounds, kept in a small JSON file (written atomically).

A member is stored by catalog id *and* path: ids survive moves and renames (the scanner keeps a
moved file's id), the path lets a collection survive a rebuilt catalog. The file lives under
``paths.data_dir()`` beside the catalog, not inside it, so collections need no schema migration and
a user can back them up or share them on their own.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from soundsearch import paths
from soundsearch.atomic import atomic_write_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FAVOURITES = "Favourites"


@dataclass(frozen=True)
class Member:
    file_id: int | None
    path: Path


def collections_path() -> Path:
    return paths.data_dir() / "collections.json"


class Collections:
    """name → ordered members. Every change is saved at once (they are small and rare)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else collections_path()
        self._data: dict[str, list[Member]] = {FAVOURITES: []}
        self.problem: str | None = None  # what was wrong with the file, for the user (None: fine)
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except UnicodeDecodeError as exc:
            return self._set_aside(f"not UTF-8 text ({exc.reason})")
        except ValueError as exc:
            return self._set_aside(f"not valid JSON ({exc})")
        except OSError as exc:  # unreadable now (permissions?): leave it where it is, save nothing
            self.problem = f"collections file {self.path} unreadable ({exc.strerror or exc}); not changed"
            self.path = self.path.with_name(self.path.name + ".unsaved")
            log.warning("%s", self.problem)
            return
        collections = raw.get("collections") if isinstance(raw, dict) else None
        if not isinstance(collections, dict):
            return self._set_aside("not a soundsearch collections file")
        data: dict[str, list[Member]] = {}
        dropped = 0
        for name, members in collections.items():
            kept = [m for m in (_member(m) for m in (members if isinstance(members, list) else []))
                    if m is not None]
            dropped += (len(members) if isinstance(members, list) else 1) - len(kept)
            data[str(name)] = kept
        data.setdefault(FAVOURITES, [])
        self._data = data
        if dropped:
            self.problem = f"{dropped} unreadable entries in {self.path.name} were left out"
            log.warning("%s", self.problem)

    def _set_aside(self, why: str) -> None:
        """Move the damaged file aside (never overwrite it: the user may mend it) and start anew."""
        kept = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, kept)
        except OSError as exc:
            self.problem = (f"collections file {self.path} is damaged ({why}) and could not be moved "
                            f"aside ({exc.strerror or exc}); changes go to {self.path.name}.unsaved")
            self.path = self.path.with_name(self.path.name + ".unsaved")
        else:
            self.problem = f"collections file was damaged ({why}); it was kept as {kept}"
        log.warning("%s", self.problem)

    def save(self) -> None:
        payload = {
            "schema_version": SCHEMA_VERSION,
            "collections": {
                name: [{"id": m.file_id, "path": str(m.path)} for m in members]
                for name, members in self._data.items()
            },
        }
        atomic_write_text(self.path, json.dumps(payload, indent=1, ensure_ascii=False))

    # -- queries -------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Favourites first, then the others in the order they were made."""
        return [FAVOURITES] + [n for n in self._data if n != FAVOURITES]

    def members(self, name: str) -> list[Member]:
        return list(self._data.get(name, []))

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def contains(self, name: str, file_id: int | None = None, path: Path | None = None) -> bool:
        return any(_same(m, file_id, path) for m in self._data.get(name, []))

    # -- changes -------------------------------------------------------------------------------
    def create(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("a collection needs a name")
        if name not in self._data:
            self._data[name] = []
            self.save()
        return name

    def rename(self, old: str, new: str) -> None:
        new = new.strip()
        if old == FAVOURITES:
            raise ValueError("Favourites cannot be renamed")
        if not new or new in self._data:
            raise ValueError(f"cannot rename to {new!r}")
        self._data = {(new if k == old else k): v for k, v in self._data.items()}
        self.save()

    def delete(self, name: str) -> None:
        if name == FAVOURITES:
            self._data[FAVOURITES] = []
        else:
            self._data.pop(name, None)
        self.save()

    def add(self, name: str, members: list[Member]) -> int:
        """Add members not already there (by id or path); creates the collection. Returns how many."""
        items = self._data.setdefault(name, [])
        added = 0
        for m in members:
            if not any(_same(old, m.file_id, m.path) for old in items):
                items.append(Member(m.file_id, Path(m.path)))
                added += 1
        if added or len(items) == 0:
            self.save()
        return added

    def remove(self, name: str, members: list[Member]) -> int:
        items = self._data.get(name, [])
        keep = [m for m in items if not any(_same(m, r.file_id, r.path) for r in members)]
        removed = len(items) - len(keep)
        if removed:
            self._data[name] = keep
            self.save()
        return removed

    def relink(self, id_of_path: Callable[[Path], int | None]) -> int:
        """After the catalog was rebuilt (``soundsearch repair``: every file has a new id), take
        each member's id from its path. Returns how many members changed."""
        changed = 0
        for name, members in self._data.items():
            fresh = [Member(id_of_path(m.path), m.path) for m in members]
            changed += sum(a != b for a, b in zip(members, fresh))
            self._data[name] = fresh
        if changed:
            self.save()
        return changed

    def toggle(self, name: str, member: Member) -> bool:
        """Add if absent, remove if present; returns whether it is now in the collection."""
        if self.contains(name, member.file_id, member.path):
            self.remove(name, [member])
            return False
        self.add(name, [member])
        return True


def _member(entry: object) -> Member | None:
    """A stored member, or None for an entry that is not one (a hand edit, damage)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
        return None
    file_id = entry.get("id")
    if not isinstance(file_id, int) or isinstance(file_id, bool):
        file_id = None  # the path alone still finds the file
    return Member(file_id, Path(entry["path"]))


def _same(m: Member, file_id: int | None, path: Path | None) -> bool:
    if file_id is not None and m.file_id is not None:
        return m.file_id == file_id
    return path is not None and Path(m.path) == Path(path)
