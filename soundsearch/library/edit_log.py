"""The user's changes to the catalog — metadata edits and renames — with undo and redo.

Mixed into :class:`~soundsearch.library.catalog.Catalog`. Every change is one ``edit_log`` row
written in the same transaction as the change itself, so the history never disagrees with the
catalog; it lives in the catalog, so ``soundsearch tag --undo`` undoes what the app did and the
other way round. Undone rows form the redo stack; a new change drops them (as editors do).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from soundsearch.library.metadata import Metadata
from soundsearch.library.pathkeys import norm_path
from soundsearch.library.user_edits import effective_text, normalise

log = logging.getLogger(__name__)


@dataclass
class LogEntry:
    id: int
    kind: str  # edit | rename
    label: str
    changes: list  # [[file_id, before, after], ...]: edits dicts, or paths (str) for a rename
    undone: bool
    at: float

    @property
    def files(self) -> int:
        return len(self.changes)


class EditLog:
    _db: sqlite3.Connection

    # -- metadata edits ----------------------------------------------------------------------------
    def set_edits(self, changes: dict[int, dict[str, str]], label: str = "edit") -> LogEntry | None:
        """Give each file id its new edits (the whole dict: fields left out are no longer edited).
        One transaction, one undo step. Returns the log entry, None when nothing changed."""
        rows = []
        with self.transaction() as db:  # type: ignore[attr-defined]
            for file_id, after in changes.items():
                after = normalise(after)
                before = self._apply_edits(db, int(file_id), after)
                if before is not None and before != after:
                    rows.append([int(file_id), before, after])
            if not rows:
                return None
            return self._log(db, "edit", label, rows)

    def _apply_edits(self, db: sqlite3.Connection, file_id: int, edits: dict[str, str]) -> dict | None:
        """Store ``edits`` for a file and its new metadata text; returns the edits it had (None:
        no such file)."""
        row = db.execute("SELECT user, metadata FROM files WHERE id = ?", (file_id,)).fetchone()
        if row is None:
            return None
        user = json.loads(row[0])
        before = user.get("edits") or {}
        if edits:
            user["edits"] = edits
        else:
            user.pop("edits", None)
        text = effective_text(Metadata.from_json(json.loads(row[1])), edits)
        db.execute("UPDATE files SET user = ?, meta_text = ? WHERE id = ?",
                   (json.dumps(user, ensure_ascii=False), text, file_id))
        self._index_files([file_id])  # type: ignore[attr-defined]  # the edited words are searched
        return before

    # -- renames -----------------------------------------------------------------------------------
    def record_rename(self, moves: list[tuple[int, str, str]], label: str = "rename") -> LogEntry | None:
        """Files already renamed on disk (id, old path, new path): the rows follow, the file-name
        metadata is read again, and one undo step is logged."""
        if not moves:
            return None
        with self.transaction() as db:  # type: ignore[attr-defined]
            for file_id, _old, new in moves:
                if file_id is not None:  # None: a sidecar file that went along with its sound
                    self._follow(db, file_id, new)
            return self._log(db, "rename", label, [[i, o, n] for i, o, n in moves])

    def _follow(self, db: sqlite3.Connection, file_id: int, new_path: str) -> None:
        from soundsearch.library.metadata import ReadContext, read_metadata

        found = self.root_of(new_path)  # type: ignore[attr-defined]
        metadata = read_metadata(Path(new_path), ReadContext(root=found[1] if found else None))
        st = os.stat(new_path)
        db.execute("UPDATE files SET path = ?, mtime_ns = ? WHERE id = ?",
                   (norm_path(new_path), st.st_mtime_ns, file_id))
        self.set_metadata(file_id, metadata)  # type: ignore[attr-defined]

    def note_rewritten(self, file_id: int, path: Path) -> None:
        """The file's tags were written by us (audio verified identical): its row takes the new
        size, time, content hash and metadata, and its vectors stay valid (no re-embedding)."""
        from soundsearch.audio.probe import read_ends
        from soundsearch.library.examine import content_hash
        from soundsearch.library.metadata import ReadContext, read_metadata

        found = self.root_of(path)  # type: ignore[attr-defined]
        metadata = read_metadata(Path(path), ReadContext(root=found[1] if found else None))
        ends = read_ends(path)
        digest = content_hash(ends)
        with self.transaction() as db:  # type: ignore[attr-defined]
            old = db.execute("SELECT content_hash FROM files WHERE id = ?", (file_id,)).fetchone()
            if old is None:
                return
            db.execute("UPDATE files SET size = ?, mtime_ns = ?, content_hash = ? WHERE id = ?",
                       (ends.size, ends.mtime_ns, digest, file_id))
            db.execute("UPDATE embeddings SET content_hash = ? WHERE file_id = ? AND content_hash IS ?",
                       (digest, file_id, old[0]))
            self.set_metadata(file_id, metadata)  # type: ignore[attr-defined]

    # -- history -----------------------------------------------------------------------------------
    def _log(self, db: sqlite3.Connection, kind: str, label: str, rows: list) -> LogEntry:
        db.execute("DELETE FROM edit_log WHERE undone = 1")  # a new change ends the redo stack
        now = time.time()
        entry_id = db.execute("INSERT INTO edit_log (kind, label, changes, at) VALUES (?, ?, ?, ?)",
                              (kind, label, json.dumps(rows, ensure_ascii=False), now)).lastrowid
        return LogEntry(entry_id, kind, label, rows, False, now)

    def history(self, limit: int = 50) -> list[LogEntry]:
        """Newest first; undone entries (the redo stack) included."""
        rows = self._db.execute("SELECT id, kind, label, changes, undone, at FROM edit_log "
                                "ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
        return [LogEntry(i, k, lab, json.loads(c), bool(u), at) for i, k, lab, c, u, at in rows]

    def can_undo(self) -> bool:
        return self._db.execute("SELECT 1 FROM edit_log WHERE undone = 0 LIMIT 1").fetchone() is not None

    def can_redo(self) -> bool:
        return self._db.execute("SELECT 1 FROM edit_log WHERE undone = 1 LIMIT 1").fetchone() is not None

    def undo(self) -> LogEntry | None:
        """Undo the newest change not yet undone; None when there is none."""
        return self._step("SELECT id FROM edit_log WHERE undone = 0 ORDER BY id DESC LIMIT 1", back=True)

    def redo(self) -> LogEntry | None:
        """Redo the oldest undone change; None when there is none."""
        return self._step("SELECT id FROM edit_log WHERE undone = 1 ORDER BY id LIMIT 1", back=False)

    def _step(self, pick: str, back: bool) -> LogEntry | None:
        with self.transaction() as db:  # type: ignore[attr-defined]
            row = db.execute(pick).fetchone()
            if row is None:
                return None
            entry = next(e for e in self._entries(db, row[0]))
            if entry.kind == "edit":
                for file_id, before, after in entry.changes:
                    self._apply_edits(db, file_id, before if back else after)
            else:
                self._rename_step(db, entry, back)
            db.execute("UPDATE edit_log SET undone = ? WHERE id = ?", (int(back), entry.id))
        entry.undone = back
        return entry

    def _rename_step(self, db: sqlite3.Connection, entry: LogEntry, back: bool) -> None:
        from soundsearch.library.rename import move_file_safely

        done = []
        try:
            # every file first (sidecars too), then the rows: a row's metadata is read again from
            # its new name, with its sidecar already beside it
            for _file_id, old, new in reversed(entry.changes) if back else entry.changes:
                src, dst = (new, old) if back else (old, new)
                move_file_safely(src, dst)
                done.append((src, dst))
            for file_id, old, new in entry.changes:
                if file_id is not None:
                    self._follow(db, file_id, old if back else new)
        except BaseException:
            for src, dst in reversed(done):  # the transaction rolls back: put the files back too
                try:
                    move_file_safely(dst, src)
                except OSError:
                    log.exception("could not move %s back to %s", dst, src)
            raise

    def _entries(self, db: sqlite3.Connection, entry_id: int):
        for i, k, lab, c, u, at in db.execute("SELECT id, kind, label, changes, undone, at FROM edit_log "
                                              "WHERE id = ?", (entry_id,)):
            yield LogEntry(i, k, lab, json.loads(c), bool(u), at)
