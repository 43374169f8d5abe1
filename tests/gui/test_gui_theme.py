"""The dark look (Preferences → Appearance, or the system's scheme) and waveform colours that keep
their contrast on both palettes."""

from __future__ import annotations

import pytest
from gui_helpers import search
from PySide6.QtWidgets import QApplication

from soundsearch.gui.theme import contrast, dark_palette, playhead_colour, wave_colour


@pytest.fixture
def light_again():
    yield
    from soundsearch.gui.theme import apply_theme

    apply_theme("light")


def test_dark_theme_from_preferences_and_legible_waveforms(qtbot, window, light_again):
    app = QApplication.instance()
    light_base = app.palette().base().color()
    assert light_base.lightnessF() > 0.5
    dialog = window.open_preferences()
    assert dialog.theme.currentData() == "system"
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    new = dialog.result_settings()
    assert new.theme == "dark"
    window.apply_preferences(new, [], [])
    dialog.reject()
    assert window.settings.theme == "dark"
    assert app.palette().base().color().lightnessF() < 0.3
    qtbot.waitUntil(lambda: window.waveform.palette().base().color().lightnessF() < 0.3, timeout=2000)
    search(qtbot, window, "thunder")
    window.view.selectRow(0)
    qtbot.waitUntil(lambda: window.waveform.peaks is not None, timeout=5000)
    image = window.waveform.grab().toImage()
    # the trace is drawn in the dark theme's colour on the dark background
    wanted = wave_colour(window.waveform.palette())
    xs = range(0, image.width(), 3)
    ys = range(0, image.height(), 2)
    assert any(image.pixelColor(x, y) == wanted for x in xs for y in ys)


@pytest.mark.parametrize("dark", [False, True])
def test_waveform_colours_contrast_with_the_background(qtbot, dark):
    pal = dark_palette() if dark else QApplication.style().standardPalette()
    base = pal.base().color()
    assert contrast(wave_colour(pal), base) >= 3.0  # WCAG's minimum for graphics
    assert contrast(playhead_colour(pal), base) >= 3.0
