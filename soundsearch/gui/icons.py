"""The app icon, loaded at run time from resources/icons (SVG plus pre-rendered PNG sizes, so it
also looks right where no SVG image plugin is available, e.g. a trimmed bundle or a Windows taskbar)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtGui import QIcon

from soundsearch import paths

SIZES = (16, 32, 48, 64, 128, 256, 512)
NAME = "soundsearch"


def icons_dir() -> Path:
    return paths.resources_dir() / "icons"


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    icon = QIcon()
    folder = icons_dir()
    for size in SIZES:
        png = folder / f"{NAME}-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    svg = folder / f"{NAME}.svg"
    if svg.exists():
        icon.addFile(str(svg))
    return icon
