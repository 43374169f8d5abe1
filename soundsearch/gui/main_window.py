"""The main window: builds the widgets and wires them to the controllers (search, audition,
background jobs) and the core thread. It holds no logic of its own beyond that wiring."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from soundsearch.audio.playback import Player
from soundsearch.collections import Collections
from soundsearch.gui.about import show_about
from soundsearch.gui.actions import WindowActions
from soundsearch.gui.audition import Audition
from soundsearch.gui.background import BackgroundJobs
from soundsearch.gui.collections_panel import CollectionsPanel
from soundsearch.gui.detail import DetailPane
from soundsearch.gui.empty_state import EmptyState
from soundsearch.gui.filters import FilterPanel
from soundsearch.gui.icons import app_icon
from soundsearch.gui.library_panel import LibraryPanel
from soundsearch.gui.metadata_actions import MetadataController
from soundsearch.gui.progress_panel import ProgressPanel
from soundsearch.gui.results_model import ResultsModel
from soundsearch.gui.results_view import ResultsView
from soundsearch.gui.search_box import SearchBox
from soundsearch.gui.search_controller import SearchController
from soundsearch.gui.theme import apply_theme
from soundsearch.gui.thumbnails import PeaksStore
from soundsearch.gui.transport import TransportBar
from soundsearch.gui.waveform import WaveformView
from soundsearch.gui.window_state import WindowState
from soundsearch.gui.worker import CoreThread
from soundsearch.session import LibrarySummary, Session
from soundsearch.settings import Settings

log = logging.getLogger(__name__)


class MainWindow(WindowActions, QMainWindow):
    def __init__(self, session: Session, player: Player, collections: Collections | None = None,
                 settings_path: Path | None = None, state: WindowState | None = None,
                 start_jobs: bool = True) -> None:
        super().__init__()
        # Every call from Qt into Python (a paint, a slot, a model's data()) must take the GIL; with
        # indexing threads running Python, the default 5 ms switch interval can make each one wait
        # that long. 1 ms keeps the window responsive at a small cost to background throughput.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self.setWindowTitle("soundsearch")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)  # drop a folder anywhere to add it
        self.session = session
        self.settings: Settings = session.settings
        self.settings_path = settings_path
        self.player = player
        self.collections = collections or Collections()
        self.state = state or WindowState()
        self.summary = LibrarySummary()
        self.core = CoreThread(session, self)
        # the library summary reads the whole catalog (seconds at a million files) on a connection
        # of its own, beside the core thread, so that the first search does not wait for it
        self.reader = CoreThread(session, self)
        apply_theme(self.settings.theme)
        self._build()
        self._connect()
        self.metadata = MetadataController(self)  # edit, write tags, rename, export, drag conversion
        self._restore_state()
        self.refresh_summary()
        if self.collections.problem:  # a damaged collections file was kept aside: say where
            self.show_message(self.collections.problem)
        if start_jobs:
            self.start_background()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.peaks = PeaksStore(parent=self)
        self.search_box = SearchBox(self.state.load_list("history"), parent=self,
                                    saved=self.state.load_list("saved_searches"))
        self.model = ResultsModel(self)
        self.view = ResultsView(self.model, self.peaks, self)
        self.waveform = WaveformView(self)
        self.transport = TransportBar(self.settings.volume, self.settings.loop, self.settings.autoplay, self)
        self.detail = DetailPane(self)
        self.filters = FilterPanel(self)
        self.library = LibraryPanel(self)
        self.collections_panel = CollectionsPanel(self.collections, self)
        self.progress = ProgressPanel(self)
        self.empty = EmptyState(self)
        self.search = SearchController(self.core, self.collections, parent=self)
        self.audition = Audition(self.player, self.waveform, self.peaks, self)
        self.audition.set_loop(self.settings.loop)
        self.audition.set_volume(self.settings.volume)
        self.jobs = BackgroundJobs(self.session, self.progress, self)

        self.side = QTabWidget(self)
        self.side.setObjectName("side")
        self.side.addTab(self.filters, "Filters")
        self.side.addTab(self.library, "Library")
        self.side.addTab(self.collections_panel, "Collections")
        player_area = QWidget(self)
        pa = QVBoxLayout(player_area)
        pa.setContentsMargins(0, 0, 0, 0)
        pa.addWidget(self.waveform, 1)
        pa.addWidget(self.transport)
        self.center_split = QSplitter(Qt.Orientation.Vertical, self)
        self.center_split.setObjectName("center-splitter")
        self.center_split.addWidget(self.view)
        self.center_split.addWidget(player_area)
        self.center_split.setSizes([520, 200])
        self.main_split = QSplitter(Qt.Orientation.Horizontal, self)
        self.main_split.setObjectName("main-splitter")
        for w in (self.side, self.center_split, self.detail):
            self.main_split.addWidget(w)
        self.main_split.setStretchFactor(1, 1)
        self.main_split.setSizes([300, 760, 380])

        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.search_box)
        layout.addWidget(self.main_split, 1)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(page)
        self.stack.setCurrentWidget(page)
        self.page = page
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack, 1)
        outer.addWidget(self.progress)
        self.setCentralWidget(central)
        self.status = QLabel(self)
        self.statusBar().addWidget(self.status, 1)
        self.audio_state = QLabel(self)  # stays while it is true: no device means silent auditions
        self.audio_state.setObjectName("audio-state")
        self.audio_state.hide()
        self.statusBar().addPermanentWidget(self.audio_state)
        self._build_menus()
        self.resize(1360, 820)

    def _build_menus(self) -> None:
        def act(menu, text, slot, shortcut=None) -> QAction:
            a = menu.addAction(text)
            a.triggered.connect(slot)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            return a

        file_menu = self.menuBar().addMenu("&File")
        act(file_menu, "Add sample folder…", self.library._pick_folder, "Ctrl+O")
        act(file_menu, "Rescan all folders", lambda: self.jobs.update(None))
        file_menu.addSeparator()
        act(file_menu, "Preferences…", self.open_preferences, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        act(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        sound = self.menuBar().addMenu("&Sound")
        find = act(sound, "Find (search box)", self._focus_search)
        find.setShortcuts([QKeySequence("Ctrl+F"), QKeySequence("Ctrl+L")])  # Ctrl+L as in a browser
        act(sound, "Search by sound only (toggle)", self.search_box.sound_only.toggle, "Ctrl+Shift+S")
        act(sound, "Copy path", self.detail.copy_path, "Ctrl+Shift+C")
        act(sound, "Reveal in file manager", self.detail.reveal, "Ctrl+Shift+R")
        act(sound, "Clear likes and dislikes", lambda: self.run_action("clear-feedback"))
        act(sound, "Show every copy (C)", lambda: self.run_action("copies"))
        help_menu = self.menuBar().addMenu("&Help")
        act(help_menu, "About soundsearch", lambda: show_about(self))
        # Esc stops playback wherever the focus is (the search box included)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        esc.setContext(Qt.ShortcutContext.WindowShortcut)
        esc.activated.connect(self.audition.stop)

    def _export_collection(self, name: str) -> None:
        members = self.collections.members(name)
        if not members:
            self.show_message(f"{name} is empty: nothing to export")
            return
        self.core.submit(self.session.hits_for, members, name="collection sounds",
                         done=lambda hits: self.metadata.export(hits) if hits else
                         self.show_message(f"None of the sounds in {name} is in the library now"))

    def _focus_search(self) -> None:
        """Into the search box with its text selected: typing replaces it, an arrow key keeps it."""
        self.search_box.edit.setFocus()
        self.search_box.edit.selectAll()

    def _connect(self) -> None:
        sb, view = self.search_box, self.view
        sb.searchRequested.connect(lambda text, _forced: self.search.query(text))
        sb.soundOnlyChanged.connect(self.search.set_sound_only)
        sb.navigate.connect(view.move)
        view.typeAhead.connect(self._type_ahead)
        view.keyAction.connect(self.run_action)
        view.currentHitChanged.connect(self._current_changed)
        view.wantMore.connect(self.search.more)
        view.horizontalHeader().sortIndicatorChanged.connect(self._sort_changed)
        self.transport.action.connect(self.run_action)
        self.transport.loopChanged.connect(self._set_loop)
        self.transport.volumeChanged.connect(self._set_volume)
        self.transport.autoplayChanged.connect(self._set_autoplay)
        self.audition.playingChanged.connect(self.transport.set_playing)
        self.audition.positionChanged.connect(self.transport.set_position)
        self.transport.varispeedChanged.connect(lambda st: self.audition.set_varispeed(semitones=st))
        self.transport.reverseChanged.connect(lambda on: self.audition.set_varispeed(reverse=on))
        self.search.feedbackCleared.connect(self._feedback_cleared)
        self.audition.failed.connect(self.show_message)
        self.search.resultsReady.connect(self._show_results)
        self.search.failed.connect(lambda msg: self.show_message(f"Search failed: {msg}"))
        self.filters.filtersChanged.connect(self.search.set_filters)
        self.filters.hide_duplicates.setChecked(self.settings.hide_duplicates)
        self.filters.hideDuplicatesChanged.connect(self._set_hide_duplicates)
        self.detail.similarRequested.connect(self.search.similar)
        self.collections_panel.openRequested.connect(self.search.show_collection)
        self.collections_panel.filesDropped.connect(self._drop_on_collection)
        self.collections_panel.exportRequested.connect(self._export_collection)
        self.library.addRequested.connect(self.add_folder)
        self.library.rescanRequested.connect(lambda root: self.jobs.update([root] if root else None))
        self.library.removeRequested.connect(self.remove_folder)
        self.library.folderChosen.connect(self.filters.set_folder)
        self.empty.folderChosen.connect(self.add_folder)
        self.jobs.modelReady.connect(self._model_ready)
        self.jobs.modelFailed.connect(self._model_failed)
        self.jobs.jobFinished.connect(self._job_finished)
        self.jobs.jobFailed.connect(lambda kind, msg: self.show_message(f"{kind} failed: {msg}"))
        self.jobs.jobCancelled.connect(self._job_cancelled)
        self.jobs.refreshWanted.connect(self.refresh_engine)
        self.jobs.catchUpWanted.connect(self.catch_up)
