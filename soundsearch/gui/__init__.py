"""The desktop app (the only package that imports PySide6)."""

from __future__ import annotations


def launch() -> int:
    from soundsearch.gui.app import run_app

    return run_app()
