"""Where soundsearch keeps its files.

One module owns every location, so that no other code builds a path of its own. By default they
follow the platform's conventions (platformdirs); the environment variable ``SOUNDSEARCH_HOME``
puts all of them under one folder, which is what tests and benchmarks use.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "soundsearch"
ENV_HOME = "SOUNDSEARCH_HOME"


def _home() -> Path | None:
    value = os.environ.get(ENV_HOME)
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """Catalog and index live here (user data that is costly to rebuild)."""
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Things that can be thrown away: waveform peaks, encoder output caches, temp region WAVs."""
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def catalog_path() -> Path:
    return data_dir() / "catalog.sqlite3"


def index_dir() -> Path:
    return data_dir() / "index"


def models_dir() -> Path:
    """User-trained heads and user-supplied encoder weights (e.g. EfficientAT checkpoints)."""
    return data_dir() / "models"


def settings_path() -> Path:
    return config_dir() / "settings.json"


def resources_dir() -> Path:
    """Files shipped with the app (UCS table, default model head, icons)."""
    return Path(__file__).resolve().parent.parent / "resources"


def ensure(path: Path) -> Path:
    """Create ``path`` (a directory) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path
