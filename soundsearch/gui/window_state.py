"""Window geometry, splitters, column widths, the last query and the search history, kept across
restarts in an INI file under ``paths.config_dir()`` (Qt's own state blobs are opaque bytes, which
QSettings stores faithfully; settings.json stays readable for people)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from soundsearch import paths

GROUP = "window"


def state_path() -> Path:
    return paths.config_dir() / "window.ini"


class WindowState:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else state_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def save_bytes(self, key: str, value: QByteArray) -> None:
        self.qs.setValue(f"{GROUP}/{key}", value)

    def load_bytes(self, key: str) -> QByteArray | None:
        value = self.qs.value(f"{GROUP}/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_value(self, key: str, value) -> None:
        self.qs.setValue(f"{GROUP}/{key}", value)

    def load_str(self, key: str, default: str = "") -> str:
        value = self.qs.value(f"{GROUP}/{key}", default)
        return str(value) if value is not None else default

    def load_int(self, key: str, default: int = 0) -> int:
        try:
            return int(self.qs.value(f"{GROUP}/{key}", default))
        except (TypeError, ValueError):
            return default

    def load_list(self, key: str) -> list[str]:
        value = self.qs.value(f"{GROUP}/{key}", [])
        if isinstance(value, str):  # QSettings gives a 1-item list back as a plain string
            return [value] if value else []
        return [str(v) for v in (value or [])]

    def sync(self) -> None:
        self.qs.sync()
