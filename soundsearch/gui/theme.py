"""Light and dark looks: follow the system's colour scheme, or the one chosen in Preferences.

Qt's own dark mode depends on the platform (Windows 11 and macOS have it, most Linux desktops and
the offscreen platform do not), so the dark look is a Fusion palette of its own; the light one is
the platform's. Waveform colours are picked for the palette in use, so the trace and the playhead
keep their contrast on both (checked by tests/gui/test_gui_theme.py with the WCAG ratio).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

THEMES = ("system", "light", "dark")
_R = QPalette.ColorRole
_G = QPalette.ColorGroup


def dark_palette() -> QPalette:
    pal = QPalette()
    colours = {
        _R.Window: "#2b2d30", _R.WindowText: "#e3e3e3", _R.Base: "#1e1f22", _R.AlternateBase: "#26282b",
        _R.Text: "#e3e3e3", _R.Button: "#35373b", _R.ButtonText: "#e3e3e3", _R.BrightText: "#ffffff",
        _R.Highlight: "#2f6fb5", _R.HighlightedText: "#ffffff", _R.ToolTipBase: "#35373b",
        _R.ToolTipText: "#e3e3e3", _R.PlaceholderText: "#8c8f94", _R.Link: "#6cb4ff",
        _R.Light: "#4a4d52", _R.Midlight: "#3d4044", _R.Mid: "#2f3134", _R.Dark: "#1a1b1d",
        _R.Shadow: "#111213",
    }
    for role, value in colours.items():
        pal.setColor(role, QColor(value))
    for role in (_R.WindowText, _R.Text, _R.ButtonText):
        pal.setColor(_G.Disabled, role, QColor("#7d8085"))
    pal.setColor(_G.Disabled, _R.Highlight, QColor("#3d4044"))
    return pal


# Fusion outlines an unchecked box a shade darker than the window: invisible on a dark one.
DARK_CHECKS = """
QCheckBox { spacing: 5px; margin-right: 6px; }
QCheckBox::indicator { width: 12px; height: 12px; border: 1px solid #8c8f94; border-radius: 2px;
                       background: #1e1f22; }
QCheckBox::indicator:checked { background: #2f6fb5; border-color: #6cb4ff; }
QCheckBox::indicator:disabled { border-color: #4a4d52; }
"""


def wants_dark(theme: str, app: QGuiApplication | None = None) -> bool:
    app = app or QGuiApplication.instance()
    if theme == "dark":
        return True
    if theme == "light" or app is None:
        return False
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


_native_style: str | None = None


def apply_theme(theme: str, app=None) -> bool:
    """Give the application the look ``theme`` asks for ("system", "light", "dark"); True when it
    is dark. With "system", a later change of the system's scheme is followed."""
    global _native_style
    from PySide6.QtWidgets import QApplication

    app = app or QApplication.instance()
    if app is None:
        return False
    if _native_style is None:
        _native_style = app.style().name()
    dark = wants_dark(theme, app)
    if dark:
        app.setStyle("Fusion")  # every platform style honours a Fusion palette
        app.setPalette(dark_palette())
        app.setStyleSheet(DARK_CHECKS)
    else:
        if app.style().name().lower() != _native_style.lower():
            app.setStyle(_native_style)
        app.setPalette(app.style().standardPalette())
        app.setStyleSheet("")
    app.setProperty("soundsearch_theme", theme)
    if not app.property("soundsearch_follows"):
        app.setProperty("soundsearch_follows", True)
        app.styleHints().colorSchemeChanged.connect(
            lambda _scheme: app.property("soundsearch_theme") == "system" and apply_theme("system", app))
    return dark


def is_dark(palette: QPalette) -> bool:
    return palette.color(_R.Base).lightnessF() < 0.5


def wave_colour(palette: QPalette) -> QColor:
    """The waveform trace: a deep teal on light backgrounds, a bright one on dark."""
    return QColor(64, 196, 180) if is_dark(palette) else QColor(20, 110, 102)


def playhead_colour(palette: QPalette) -> QColor:
    return QColor(255, 110, 100) if is_dark(palette) else QColor(200, 40, 37)


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours (1 … 21)."""
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
