"""The search box: search as you type (debounced), Enter forces, ↓ moves into the results, and a
short history of searches (menu button, and a completion list on Ctrl+Space or Alt+↓).

Enter always searches exactly what is typed: a completion is only used when the user picks it from
the list. (Inline completion used to fill in "explosion dur:<2" while "explosion" was typed, and
Enter then searched the longer text.)

When the list shows something the words did not ask for ("more like this"), a label beside the box
says what it is, and the box keeps only the filters that still apply.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMenu, QToolButton, QWidget

DEBOUNCE_MS = 250  # long enough to skip mid-word queries, short enough to feel live
HISTORY_SIZE = 20


class SearchBox(QWidget):
    searchRequested = Signal(str, bool)  # text, forced (Enter)
    soundOnlyChanged = Signal(bool)  # the Sound only toggle
    navigate = Signal(int)  # +1 for ↓, -1 for ↑: move the results selection

    def __init__(self, history: list[str] | None = None, debounce_ms: int = DEBOUNCE_MS, parent=None,
                 saved: list[str] | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("search")
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText(
            "Describe a sound, e.g. heavy wooden door slam, reverberant   (-word excludes, +word requires)")
        self.history: list[str] = list(history or [])[:HISTORY_SIZE]
        self.saved: list[str] = list(dict.fromkeys(saved or []))  # kept until removed, beside the history
        # Not a QCompleter: set on the line edit it completes on every keystroke, and as a popup
        # its Return went to the line edit before the pick (the typed text was searched). A menu
        # opened on request, picked with ↑/↓ and Enter, does only what is chosen.
        self.completions = QMenu(self)
        self.completions.setObjectName("completions")
        self.completions.triggered.connect(lambda action: self.set_text(action.text(), search=True))
        self.context = QLabel(self)
        self.context.setObjectName("search-context")
        self.context.hide()
        self.sound_only = QToolButton(self)
        self.sound_only.setObjectName("sound-only")
        self.sound_only.setText("Sound only")
        self.sound_only.setCheckable(True)
        self.sound_only.setToolTip("Rank by what the sounds sound like, ignoring names and tags: for "
                                   "untagged recordings, or when the names mislead (Ctrl+Shift+S)")
        # plainly on or off at a glance (a checked tool button is only a shade darker in most styles)
        self.sound_only.setStyleSheet("QToolButton#sound-only:checked { background: palette(highlight); "
                                      "color: palette(highlighted-text); border-radius: 3px; "
                                      "padding: 2px 6px; }")
        self.sound_only.toggled.connect(self._sound_only_toggled)
        self.history_button = QToolButton(self)
        self.history_button.setText("History")
        self.history_button.setToolTip("Saved and recent searches (Ctrl+Space completes from them)")
        self.history_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.history_menu = QMenu(self)
        self.history_menu.aboutToShow.connect(self._fill_history_menu)
        self.history_button.setMenu(self.history_menu)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.context)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.sound_only)
        layout.addWidget(self.history_button)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(debounce_ms)
        self.timer.timeout.connect(lambda: self.searchRequested.emit(self.text(), False))
        self.edit.textEdited.connect(self._edited)
        self.edit.returnPressed.connect(self.force)
        self.edit.installEventFilter(self)
        self.setFocusProxy(self.edit)

    def text(self) -> str:
        return self.edit.text().strip()

    def _sound_only_toggled(self, on: bool) -> None:
        self.edit.setPlaceholderText(
            "Describe what it sounds like: names and tags are ignored (Sound only is on)" if on else
            "Describe a sound, e.g. heavy wooden door slam, reverberant   (-word excludes, +word requires)")
        self.soundOnlyChanged.emit(on)

    def _edited(self, _text: str) -> None:
        self.show_context("")  # typed words: the list is their results again
        self.timer.start()

    def show_context(self, what: str) -> None:
        """Say what the list shows when it is not the typed words' results ("" hides it)."""
        self.context.setText(what)
        self.context.setVisible(bool(what))

    def matches(self) -> list[str]:
        """Saved, then recent searches that contain what is typed (all of them when none does)."""
        every = self.saved + [h for h in self.history if h not in self.saved]
        typed = self.text().lower()
        return [t for t in every if typed in t.lower()] or every

    def complete(self) -> None:
        """Open the list of saved and past searches matching what is typed (Ctrl+Space, Alt+↓);
        Enter on a highlighted one searches it, Esc closes the list and keeps the typed text."""
        menu = self.completions
        menu.clear()
        for text in self.matches()[:HISTORY_SIZE]:
            menu.addAction(text)
        if menu.isEmpty():
            return
        menu.setActiveAction(menu.actions()[0])
        menu.popup(self.edit.mapToGlobal(self.edit.rect().bottomLeft()))

    def set_text(self, text: str, search: bool = False) -> None:
        self.edit.setText(text)
        if search:
            self.show_context("")
        if search:
            self.force()

    def force(self) -> None:
        """Search now (Enter), skipping the debounce."""
        self.timer.stop()
        self.add_history(self.text())
        self.searchRequested.emit(self.text(), True)

    def add_history(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        self.history = [text] + [h for h in self.history if h != text][: HISTORY_SIZE - 1]

    def save_search(self, text: str | None = None) -> None:
        """Keep ``text`` (default: what is typed) among the saved searches."""
        text = (self.text() if text is None else text).strip()
        if text and text not in self.saved:
            self.saved.append(text)

    def forget_saved(self, text: str) -> None:
        if text in self.saved:
            self.saved.remove(text)

    def _fill_history_menu(self) -> None:
        menu = self.history_menu
        menu.clear()
        save = menu.addAction("Save this search")
        save.setEnabled(bool(self.text()) and self.text() not in self.saved)
        save.triggered.connect(lambda _checked=False: self.save_search())
        if self.saved:
            menu.addSection("Saved")
            for text in self.saved:
                action = menu.addAction(text)
                action.triggered.connect(lambda _checked=False, t=text: self.set_text(t, search=True))
            forget = menu.addMenu("Forget a saved search")
            for text in self.saved:
                forget.addAction(text).triggered.connect(lambda _checked=False, t=text: self.forget_saved(t))
        menu.addSection("Recent")
        if not self.history:
            menu.addAction("No searches yet").setEnabled(False)
        for text in self.history:
            action = menu.addAction(text)
            action.triggered.connect(lambda _checked=False, t=text: self.set_text(t, search=True))

    def eventFilter(self, obj, event) -> bool:
        if obj is self.edit and event.type() == QEvent.Type.KeyPress:
            key, mods = event.key(), event.modifiers()
            asks = (key == Qt.Key.Key_Space and mods & Qt.KeyboardModifier.ControlModifier) or \
                (key == Qt.Key.Key_Down and mods & Qt.KeyboardModifier.AltModifier)
            if asks:
                self.complete()
                return True
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self.navigate.emit(1 if key == Qt.Key.Key_Down else -1)
                return True
        return super().eventFilter(obj, event)
