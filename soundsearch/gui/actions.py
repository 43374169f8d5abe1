"""What the main window does when the user acts: each handler is one call into a controller or
the core. Kept apart from the layout code (main_window.py) so both stay readable."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

from soundsearch.audio.playback import output_devices
from soundsearch.collections import Member
from soundsearch.gui.preferences import PreferencesDialog
from soundsearch.gui.theme import apply_theme
from soundsearch.gui.worker import call
from soundsearch.settings import save_settings

log = logging.getLogger(__name__)


# results column → the attribute a browse list is sorted by in the session
BROWSE_SORT = {1: "name", 2: "duration", 3: "format", 4: "sample_rate", 5: "channels", 6: "path"}


def _same_list(a, b) -> bool:
    """The same list, maybe longer (a next page), rather than a new one."""
    return ((a.kind, a.text, a.filters, a.target, a.by, a.sound_only)
            == (b.kind, b.text, b.filters, b.target, b.by, b.sound_only))


class WindowActions:
    """Mixed into MainWindow; uses the widgets and controllers it builds."""

    search_shown = None  # the outcome on screen
    _resetting_sort = False

    # -- start-up and background work ----------------------------------------------------------
    def start_background(self) -> None:
        """Load the model (unless given), then scan and index every folder, all off the UI thread.
        A query restored from the last session is answered by its words first: torch's import holds
        the interpreter lock for a second or more and would hold those results back."""
        QTimer.singleShot(0, self._warm_player)
        if self.search.busy and self.session.model is None:
            self.search.busyChanged.connect(self._first_search_done)
            return
        if self.session.model is None:
            self.jobs.load_model()
        self.jobs.update(None, index=True)

    def _first_search_done(self, busy: bool) -> None:
        if not busy:
            self.search.busyChanged.disconnect(self._first_search_done)
            QTimer.singleShot(0, self.start_background)  # after the results are on screen

    def _warm_player(self) -> None:
        worker = call(self.player.warm, name="open audio output")
        worker.signals.finished.connect(lambda _r: self.audition.closed or self.show_audio_state())
        worker.start(self.audition.pool)

    def show_audio_state(self) -> None:
        """Say so when no output device could be opened: sounds then play silently, with a moving
        playhead, which otherwise looks like a broken file or a muted system."""
        silent = self.player.is_null
        self.audio_state.setText("No audio output device: sounds play silently (File → Preferences → "
                                 "Audio output)" if silent else "")
        self.audio_state.setVisible(silent)
        if silent:
            self.show_message("No audio output device could be opened: auditions are silent")

    def _model_ready(self, model) -> None:
        # the engine over the new model is opened on the core thread, then the query runs again
        self.core.submit(lambda: self.session.engine, done=lambda _r: self.search.rerun(), name="engine")
        self.show_message("Search model ready")

    def _model_failed(self, message: str) -> None:
        self.show_message(f"The search model could not be loaded: {message}. "
                          "Scanning still works; check Preferences → Model.")

    def _job_finished(self, kind: str, result) -> None:
        if kind == "update":
            duplicates = getattr(result, "duplicates", None)
            if duplicates is not None:
                self.core.submit(self.session.set_near_copies, duplicates, name="near duplicates")
            self.refresh_engine()
            index = getattr(result, "index", None)
            if index is not None:
                hours = index.audio_seconds / 3600
                self.show_message(f"Indexed {index.files:,} new sounds ({hours:.2f} h indexed) in "
                                  f"{index.seconds:.0f} s; {index.items:,} sounds searchable")

    def _job_cancelled(self, kind: str) -> None:
        self.show_message("Stopped. What was done so far is kept; it goes on from there next time.")
        self.refresh_engine()

    def refresh_engine(self) -> None:
        self.core.submit(self.session.refresh, done=lambda _n: self._after_refresh(), name="refresh")

    def catch_up(self) -> None:
        """Newly scanned or embedded sounds join the search at once (not at the next index save)."""
        self.core.submit(self.session.catch_up, done=self._caught_up, name="catch up")

    def _caught_up(self, added: int) -> None:
        # Re-rank only a list the user is not working through: a short one, or one with no row
        # chosen yet; a long list in use updates at the job's end (or the 30 s refresh).
        last = self.search.last
        if last is None or len(last.hits) < 20 or self.view.current_hit() is None:
            self.search.rerun()

    def _after_refresh(self) -> None:
        self.refresh_summary()
        self.search.rerun()

    def refresh_summary(self) -> None:
        self.reader.submit(self.session.summary, done=self._show_summary, name="library summary",
                           error=lambda exc: self.show_message(f"Cannot read the library catalog: {exc}"))

    def _show_summary(self, summary) -> None:
        self.summary = summary
        self.library.show_summary(summary)
        roots = [r["path"] for r in summary.roots]
        self.reader.submit(self.session.folders, done=lambda counts: self.library.show_folders(counts, roots),
                           name="folders")
        self.filters.set_choices(summary.stats)
        self.stack.setCurrentWidget(self.page if summary.roots else self.empty)

    # -- library -------------------------------------------------------------------------------
    def add_folder(self, folder: Path) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            self.show_message(f"Not a folder: {folder}")
            return
        self.stack.setCurrentWidget(self.page)
        self.core.submit(self.session.add_root, folder, name="add folder",
                         done=lambda root: self._folder_added(root),
                         error=lambda exc: self.show_message(f"Cannot add {folder}: {exc}"))

    def _folder_added(self, root: Path) -> None:
        self.jobs.update([root])
        self.refresh_summary()

    def remove_folder(self, folder: Path) -> None:
        self.core.submit(self.session.remove_root, Path(folder), name="remove folder",
                         done=lambda _ids: self._after_refresh(),
                         error=lambda exc: self.show_message(f"Cannot remove {folder}: {exc}"))

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.isLocalFile() and Path(u.toLocalFile()).is_dir() for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and Path(url.toLocalFile()).is_dir():
                self.add_folder(Path(url.toLocalFile()))
        event.acceptProposedAction()

    # -- results and audition ------------------------------------------------------------------
    def _feedback_cleared(self) -> None:
        self.model.set_all_feedback({})
        self._cleared_note = True

    def _sort_changed(self, column: int, order) -> None:
        """In a browse list a header click sorts the whole library listing, not only the loaded
        page (a ranked list is sorted where it is: every row is loaded)."""
        key = BROWSE_SORT.get(column)
        if key is not None and self.search.last is not None and self.search.last.browse \
                and not self._resetting_sort:
            self.search.set_sort(key, order == Qt.SortOrder.DescendingOrder)

    def _show_results(self, outcome) -> None:
        keep = self.view.current_hit()
        previous = self.search_shown
        self.search_shown = outcome
        same_list = previous is not None and _same_list(previous.request, outcome.request)
        scroll = self.view.verticalScrollBar().value() if same_list else 0
        request = outcome.request
        like_name = self._similar_name(request.target) if request.kind in ("similar", "copies") else ""
        self.model.feedback = {i: 1 for i in self.search.liked} | {i: -1 for i in self.search.disliked}
        self.transport.set_feedback_counts(len(self.search.liked), len(self.search.disliked))
        self.model.set_hits(outcome.hits)
        header = self.view.horizontalHeader()
        if outcome.browse:  # shown in the session's order, which the header says
            key, descending = self.search.sort
            column = next((c for c, k in BROWSE_SORT.items() if k == key), -1)
            order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        else:
            column, order = -1, Qt.SortOrder.AscendingOrder
        self._resetting_sort = True
        try:
            header.setSortIndicator(column, order)
        finally:
            self._resetting_sort = False
        if same_list:  # a next page: stay where the user was reading
            self.view.verticalScrollBar().setValue(scroll)
        row = self.model.row_of(keep.file_id) if keep is not None else -1
        if row >= 0:  # re-ranked: stay on the same sound, without playing it again
            self.view.selectionModel().blockSignals(True)
            self.view.selectRow(row)
            self.view.selectionModel().blockSignals(False)
        self.peaks.forget_pending()
        what = {"similar": "similar sounds", "collection": "sounds in the collection",
                "copies": "copies of the same sound"}.get(
            outcome.request.kind, "results by sound alone" if request.sound_only else "results")
        if request.kind == "similar":  # the box shows what the list is: the filters that still apply
            if self.search_box.text() != request.text:
                self.search_box.edit.setText(request.text)
            how = "Sounds like" if request.by == "sound" else "More like"
            self.search_box.show_context(f"{how} {like_name}" + (", within:" if request.text else ""))
        elif request.kind == "collection":
            self.search_box.show_context(f"Collection: {request.target}")
        elif request.kind == "copies":
            self.search_box.show_context(f"Copies of {like_name}")
        else:
            self.search_box.show_context("")
        note = "New search: likes and dislikes cleared · " if getattr(self, "_cleared_note", False) else ""
        self._cleared_note = False
        if not self.session.model and (request.kind == "similar" or request.sound_only):
            self.show_message(note + "Loading the search model… results appear as soon as it is ready")
        elif outcome.by_words:
            # answered by names and tags; the model's ranking replaces it when it arrives
            self.show_message(f"{note}{len(outcome.hits):,} {what} by name and tag · loading the search "
                              "model for the sound itself…")
        elif request.kind == "query" and not request.text.strip() and not outcome.browse and not outcome.hits:
            self.show_message(note.rstrip(" ·"))  # an empty box lists nothing: no "0 results" to read
        elif outcome.browse:
            more = f", the first {len(outcome.hits):,} loaded (scroll for more)" \
                if len(outcome.hits) < outcome.total else ""
            self.show_message(f"{note}{outcome.total:,} sounds match the filters{more}")
        else:
            self.show_message(f"{note}{len(outcome.hits):,} {what} in {outcome.seconds * 1000:.0f} ms")

    def _similar_name(self, file_id) -> str:
        hit = self.view.current_hit()
        if hit is not None and hit.file_id == file_id:
            return Path(hit.path).name
        return next((Path(h.path).name for h in self.model.hits if h.file_id == file_id), f"#{file_id}")

    def _current_changed(self, hit) -> None:
        self.detail.show_record(getattr(hit, "record", None))
        self.audition.select(hit, self.settings.autoplay, self.view.neighbours())

    def _type_ahead(self, text: str) -> None:
        edit = self.search_box.edit
        edit.setFocus(Qt.FocusReason.OtherFocusReason)
        edit.insert(text)
        self.search_box.timer.start()

    def run_action(self, name: str) -> None:
        hit = self.view.current_hit()
        if name == "toggle":
            self.audition.toggle()
        elif name == "play":
            self.audition.play(0.0)
        elif name == "stop":
            self.audition.stop()
        elif name in ("like", "dislike") and hit is not None:
            mark = self.search.feedback(hit.file_id, 1 if name == "like" else -1)
            self.model.set_feedback(hit.file_id, mark)
        elif name in ("similar", "similar-sound") and hit is not None:
            self.search.similar(hit.file_id, by="sound" if name == "similar-sound" else "all")
        elif name == "copies" and hit is not None:
            if getattr(hit, "copies", ()):
                self.search.show_copies(hit.file_id)
            else:
                self.show_message(f"{Path(hit.path).name} has no identical copy in the library")
        elif name == "collect":
            hits = self.view.selected_hits()
            target = self.collections_panel.current()
            added = self.collections.add(target, [Member(h.file_id, Path(h.path)) for h in hits])
            self.collections_panel.reload()
            self.show_message(f"Added {added} to {target}")
        elif name == "clear-feedback":
            self.model.set_all_feedback({})
            self.search.clear_feedback()
        elif name in ("pitch-up", "pitch-down"):
            self.transport.speed.stepBy(1 if name == "pitch-up" else -1)
        elif name == "pitch-reset":
            self.transport.speed.setValue(0)
        elif name == "reverse":
            self.transport.reverse.toggle()

    def _drop_on_collection(self, name: str, paths: list) -> None:
        ids = {str(Path(h.path).resolve()): h.file_id for h in self.model.hits}
        members = [Member(ids.get(str(Path(p).resolve())), Path(p)) for p in paths]
        added = self.collections.add(name, members)
        self.collections_panel.reload()
        self.show_message(f"Added {added} to {name}")

    def _set_loop(self, on: bool) -> None:
        self.settings.loop = on
        self.audition.set_loop(on)

    def _set_volume(self, value: float) -> None:
        self.settings.volume = value
        self.audition.set_volume(value)

    def _set_hide_duplicates(self, on: bool) -> None:
        self.settings.hide_duplicates = bool(on)  # the session reads the same settings object
        self.search.rerun()

    def _set_autoplay(self, on: bool) -> None:
        self.settings.autoplay = on

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    # -- preferences ---------------------------------------------------------------------------
    def open_preferences(self) -> PreferencesDialog:
        roots = [Path(r["path"]) for r in self.summary.roots]
        dialog = PreferencesDialog(self.settings, roots, output_devices(), self,
                                   no_output=self.player.is_null)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog.result_settings(),
                                                               dialog.selected_roots(), roots))
        dialog.open()
        return dialog

    def apply_preferences(self, new, roots: list[Path], old_roots: list[Path]) -> None:
        old = self.settings
        for root in set(old_roots) - set(roots):
            self.remove_folder(root)
        for root in [r for r in roots if r not in old_roots]:
            self.add_folder(root)
        changed = {f.name for f in dataclasses.fields(new) if getattr(new, f.name) != getattr(old, f.name)}
        # one settings object is shared with the session; copy the values into it
        for name in changed:
            setattr(old, name, getattr(new, name))
        self.transport.autoplay.setChecked(old.autoplay)
        if "theme" in changed:
            apply_theme(old.theme)
        if "output_device" in changed:
            self.player.set_device(old.output_device)
            self._warm_player()
        if changed & {"model", "device", "yamnet"}:  # a tagger switched on tags the library again
            self.jobs.load_model()
            self.jobs.update(None)
        elif changed & {"fusion_weight", "long_file_seconds", "lexical_weight"}:
            self.core.submit(self.session.reset_engine, name="engine")
            self.jobs.update(None)
        self.save_settings()

    def save_settings(self) -> None:
        try:
            save_settings(self.settings, self.settings_path)
        except OSError as exc:
            self.show_message(f"Cannot save settings: {exc}")

    # -- window state --------------------------------------------------------------------------
    def _restore_state(self) -> None:
        st = self.state
        geometry = st.load_bytes("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for key, widget in (("main_splitter", self.main_split), ("center_splitter", self.center_split)):
            blob = st.load_bytes(key)
            if blob is not None:
                widget.restoreState(blob)
        header = st.load_bytes("columns")
        if header is not None:
            self.view.horizontalHeader().restoreState(header)
        self.side.setCurrentIndex(st.load_int("side_tab", 0))
        last = st.load_str("last_query")
        if last:
            self.search_box.set_text(last)
            self.search.query(last)  # found by its words now, ranked again when the model is ready

    def save_state(self) -> None:
        st = self.state
        st.save_bytes("geometry", self.saveGeometry())
        st.save_bytes("main_splitter", self.main_split.saveState())
        st.save_bytes("center_splitter", self.center_split.saveState())
        st.save_bytes("columns", self.view.horizontalHeader().saveState())
        st.save_value("side_tab", self.side.currentIndex())
        st.save_value("last_query", self.search_box.text())
        st.save_value("history", self.search_box.history)
        st.save_value("saved_searches", self.search_box.saved)
        st.sync()

    def closeEvent(self, event) -> None:
        self.save_state()
        self.save_settings()
        self.audition.shutdown()
        # A cancelled scan or index stops within a batch; a model still loading cannot be stopped,
        # and run_app() does not wait for it (see there).
        self.jobs.shutdown(3000)
        self.peaks.shutdown()
        self.reader.shutdown(close_session=False)
        self.core.shutdown()
        self.player.close()
        super().closeEvent(event)
