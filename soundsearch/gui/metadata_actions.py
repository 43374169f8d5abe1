"""The window's metadata and transfer actions: edit (one or many), undo/redo, write tags into the
files, rename to UCS, export, and drag with conversion. Each is one core call on the core thread
(the catalog's home) or a background job; widgets come from metadata_editor and export_dialog.

After a change the search engine is refreshed at once (its word index reads the catalog) and the
changed metadata texts are re-embedded by a short background job, so edits are findable at once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QKeySequence

from soundsearch.gui.background import _Queued
from soundsearch.gui.export_dialog import ExportDialog
from soundsearch.gui.metadata_editor import MetadataEditor, RenamePreview
from soundsearch.gui.transfer import DragConverter
from soundsearch.jobs import CancelToken, Job

log = logging.getLogger(__name__)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


# -- on the core thread ------------------------------------------------------------------------------
def _records(session, ids: list[int]) -> list:
    return session.catalog.get_many(ids)


def _edit(session, ids: list[int], ops: list, label: str):
    from soundsearch.library.user_edits import plan_batch

    entry = session.catalog.set_edits(plan_batch(session.catalog.get_many(ids), ops), label)
    session.refresh()
    return entry


def _step(session, back: bool):
    entry = session.catalog.undo() if back else session.catalog.redo()
    session.refresh()
    return entry


def write_job(session, ids: list[int], keep_times: bool, cancel: CancelToken) -> Job:
    """Write tags into the files (a big WAV is decoded twice to verify it: seconds, so this runs
    as a background job, on the job thread's own catalog). Returns [(path, why not)]."""
    from soundsearch.jobs import Progress
    from soundsearch.library.catalog import Catalog
    from soundsearch.library.tagging import TagWriteError, write_record

    failures: list[tuple[Path, str]] = []
    with Catalog(session.catalog_path) as catalog:
        records = catalog.get_many(ids)
        yield Progress("write-tags", 0, len(records), "")
        for n, record in enumerate(records, 1):
            cancel.check()
            try:
                write_record(catalog, record, keep_times=keep_times)
            except TagWriteError as exc:
                failures.append((record.path, str(exc)))
            yield Progress("write-tags", n, len(records), record.path.name)
    return failures


def _plan_rename(session, ids: list[int], creator: str, source: str) -> list:
    from soundsearch.library.rename import plan_rename

    return plan_rename(session.catalog.get_many(ids), creator, source)


def _rename(session, plans: list):
    from soundsearch.library.rename import apply_rename

    entry, failures = apply_rename(session.catalog, plans)
    session.refresh()
    return entry, failures


def export_job(items: list, folder: Path, options, pattern: str, cancel: CancelToken) -> Job:
    from soundsearch.library.export import export_files

    return (yield from export_files(items, folder, options, pattern or None, cancel))


class MetadataController(QObject):
    exportDialogOpened = Signal(object)  # the ExportDialog (after a collection's sounds are read)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.transfer = DragConverter(window.settings)
        self.dialog: Any = None
        self._pending_message, self._pending_request = "", None
        self._writing = 0
        self.last_folder = ""
        window.model.drag_files = self.transfer.files_for_drag
        window.waveform.region_writer = self._region_file
        window.view.currentHitChanged.connect(self._prepare_drag)
        window.waveform.regionChanged.connect(self._prepare_region)
        window.jobs.jobFinished.connect(self._job_finished)
        # after an edit the list is searched again; the detail pane must show the edited fields
        window.search.resultsReady.connect(self._refresh_detail)
        if hasattr(window.detail, "editRequested"):
            window.detail.editRequested.connect(self.edit)
        self._menus()

    def _menus(self) -> None:
        w = self.w
        edit = w.menuBar().addMenu("&Edit")
        edit.setObjectName("edit-menu")
        bar = w.menuBar()
        bar.insertMenu(bar.actions()[1], edit)  # after File
        self.undo_action = edit.addAction("Undo metadata change", lambda: self.step(True))
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = edit.addAction("Redo metadata change", lambda: self.step(False))
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        sound = next(m.menu() for m in bar.actions() if m.text() == "&Sound")
        sound.addSeparator()
        for text, slot, key in (("Edit metadata…", self.edit, "Ctrl+E"),
                                ("Write tags to file", self.write_tags, None),
                                ("Rename to UCS…", self.rename, None),
                                ("Export to…", self.export, "Ctrl+Shift+E")):
            action = sound.addAction(text, slot)
            if key:
                action.setShortcut(QKeySequence(key))

    # -- selection ---------------------------------------------------------------------------------
    def _hits(self) -> list:
        hits = self.w.view.selected_hits()
        current = self.w.view.current_hit()
        return hits or ([current] if current is not None else [])

    def _ids(self) -> list[int]:
        return [h.file_id for h in self._hits()]

    def _done(self, message: str) -> None:
        self.w.show_message(message)
        # shown over the "N results" line of every re-run of the same search (after the edit, after
        # the text is re-embedded, when new vectors join): gone once the user searches for another
        last = self.w.search.last
        self._pending_message, self._pending_request = message, (last.request if last else None)
        self.w.search.rerun()
        if self.w.session.model is not None:
            self.w.jobs._enqueue(_Queued("metadata", "Updating the search text…",
                                         self.w.session.reembed_job))

    def _job_finished(self, kind: str, result) -> None:
        if kind == "metadata":
            self.w.core.submit(self.w.session.refresh, done=self._refreshed, name="refresh")
        elif kind == "write-tags":
            self._written(result)
        elif kind == "export":
            folder = result.written[0].parent if result.written else ""
            failed = "; ".join(f"{p.name}: {r}" for p, r in result.failed[:3])
            self.w.show_message(f"Exported {_count(len(result.written), 'file')} to {folder}"
                                + (f" — {len(result.failed)} failed: {failed}" if result.failed else ""))

    def _refreshed(self, _items: int) -> None:
        self.w._after_refresh()  # re-runs the search: _refresh_detail shows the message again

    def _refresh_detail(self, outcome) -> None:
        if self._pending_message:
            if outcome is not None and outcome.request == self._pending_request:
                self.w.show_message(self._pending_message)
            else:
                self._pending_message, self._pending_request = "", None
        hit = self.w.view.current_hit()
        if hit is not None and self.w.detail.record is not None and hit.file_id == self.w.detail.record.id:
            self.w.detail.show_record(hit.record)

    # -- edit --------------------------------------------------------------------------------------
    def edit(self) -> MetadataEditor | None:
        ids = self._ids()
        if not ids:
            self.w.show_message("Select the sounds to edit first")
            return None
        records = [h.record for h in self._hits()]
        dialog = self.dialog = MetadataEditor(records, self.w)
        dialog.accepted.connect(lambda: self._apply_edit(ids, dialog))
        dialog.open()
        return dialog

    def _apply_edit(self, ids: list[int], dialog: MetadataEditor) -> None:
        ops = dialog.ops()
        if not ops:
            return
        label = ", ".join(f"{o.kind} {o.name}" for o in ops)
        self.w.core.submit(_edit, self.w.session, ids, ops, label, name="edit metadata",
                           done=lambda e: self._done(f"Edited {_count(e.files if e else 0, 'sound')} "
                                                     "(Ctrl+Z undoes)"),
                           error=lambda exc: self.w.show_message(f"Edit failed: {exc}"))

    def step(self, back: bool) -> None:
        def shown(entry) -> None:
            if entry is None:
                self.w.show_message(f"Nothing to {'undo' if back else 'redo'}")
            else:
                self._done(f"{'Undid' if back else 'Redid'}: {entry.label} ({_count(entry.files, 'file')})")

        self.w.core.submit(_step, self.w.session, back, name="undo", done=shown,
                           error=lambda exc: self.w.show_message(f"Undo failed: {exc}"))

    # -- write into the files ----------------------------------------------------------------------
    def write_tags(self, keep_times: bool = False) -> None:
        ids = self._ids()
        if not ids:
            return
        self._writing = len(ids)
        self.w.jobs._enqueue(_Queued("write-tags", f"Writing tags into {len(ids)} files…",
                                     lambda t: write_job(self.w.session, ids, keep_times, t)))

    def _written(self, failures: list) -> None:
        written = _count(self._writing - len(failures), "file")
        text = f"Wrote tags into {written} (audio verified identical)"
        if failures:
            text += f"; {len(failures)} not written: " + "; ".join(f"{p.name}: {r}" for p, r in failures[:3])
        self._done(text)

    # -- rename ------------------------------------------------------------------------------------
    def rename(self) -> RenamePreview | None:
        ids = self._ids()
        if not ids:
            return None
        core, session = self.w.core, self.w.session
        dialog = self.dialog = RenamePreview(
            lambda c, s: core.submit(_plan_rename, session, ids, c, s, done=dialog.show_plans), self.w)
        failed = lambda exc: self.w.show_message(f"Rename failed: {exc}")  # noqa: E731
        dialog.accepted.connect(lambda: core.submit(_rename, session, dialog.plans, name="rename",
                                                    done=self._renamed, error=failed))
        core.submit(_plan_rename, session, ids, "", "", done=dialog.show_plans)
        dialog.open()
        return dialog

    def _renamed(self, outcome) -> None:
        entry, failures = outcome
        text = f"Renamed {_count(entry.files if entry else 0, 'file')} (Ctrl+Z renames them back)"
        if failures:
            text += "; not renamed: " + "; ".join(f"{p.name}: {r}" for p, r in failures[:3])
        self._done(text)

    # -- export and drag ---------------------------------------------------------------------------
    def export(self, hits: list | None = None) -> ExportDialog | None:
        """Converted copies of ``hits`` (default: the selected sounds) into a folder."""
        from soundsearch.library.export import ExportItem

        hits = hits if hits is not None else self._hits()
        if not hits:
            return None
        wf = self.w.waveform
        region = wf.region if len(hits) == 1 and wf.path == Path(hits[0].path) else None
        dialog = self.dialog = ExportDialog(self.w.settings, len(hits), region, self.last_folder, self.w)
        items = [ExportItem(Path(h.path), h.record.metadata, h.record.edits) for h in hits]

        def go() -> None:
            folder = dialog.target()
            if folder is None:
                self.w.show_message("Choose a folder to export to")
                return
            self.last_folder = str(folder)
            options, pattern = dialog.options(), dialog.pattern.text().strip()
            self.w.jobs._enqueue(_Queued("export", f"Exporting {len(items)} sounds…",
                                         lambda t: export_job(items, folder, options, pattern, t)))

        dialog.accepted.connect(go)
        dialog.open()
        self.exportDialogOpened.emit(dialog)
        return dialog

    def _prepare_drag(self, hit) -> None:
        if hit is not None:
            self.transfer.prepare(Path(hit.path), getattr(hit, "record", None))

    def _prepare_region(self, region) -> None:
        wf = self.w.waveform
        if region is not None and wf.path is not None:
            self.transfer.prepare(Path(wf.path), self._record_of(wf.path), region)

    def _record_of(self, path) -> Any:
        hit = self.w.view.current_hit()
        return hit.record if hit is not None and Path(hit.path) == Path(path) else None

    def _region_file(self, path, start: float, end: float) -> Path:
        return self.transfer.region_file(Path(path), start, end, self._record_of(path))

    def shutdown(self) -> None:
        self.transfer.shutdown()
