"""Drag with conversion: the copies a DAW receives when rows or a waveform region are dragged out.

What a drag becomes follows Preferences (``Settings.drag_convert`` and the session format): by
default OGG/MP3/M4A/Opus go out as WAV (Pro Tools cannot take them) and everything else as the
original file. Copies are written by :func:`soundsearch.library.export.export_one` (metadata
carried, mode 0644) on a worker thread, into the app's cache. The window asks for them as soon as
a sound is selected or a region drawn, so that by the time the mouse starts a drag the file is
usually there; a drag that comes earlier waits for it (a drop needs an existing file).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from soundsearch import paths
from soundsearch.audio.convert import ConvertOptions
from soundsearch.audio.region import write_region
from soundsearch.library.export import ExportItem, export_one
from soundsearch.library.tagging import fields_to_write
from soundsearch.settings import Settings

log = logging.getLogger(__name__)

LOSSY = frozenset({".ogg", ".oga", ".opus", ".mp3", ".m4a", ".mp4", ".aac", ".wma"})
WAIT_S = 60.0  # the longest a drag waits for its copy


def drag_options(settings: Settings, path: Path) -> ConvertOptions | None:
    """How a dragged file is converted, or None to drag the original."""
    mode = settings.drag_convert
    lossy = Path(path).suffix.lower() in LOSSY
    if mode == "off" or (mode != "always" and not lossy):
        return None
    fmt = settings.session_format
    if fmt == "original" and lossy:
        fmt = "wav"
    return ConvertOptions(format=fmt, sample_rate=settings.session_rate or None, bits=settings.session_bits)


def transfer_dir() -> Path:
    return paths.cache_dir() / "transfer"


class DragConverter:
    def __init__(self, settings: Settings, folder: Path | None = None) -> None:
        self.settings = settings
        self.folder = Path(folder) if folder else transfer_dir()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="drag-copies")
        self._jobs: dict[tuple, Future] = {}

    def _key(self, path: Path, options: ConvertOptions) -> tuple | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (str(path), st.st_size, st.st_mtime_ns, dataclasses.astuple(options))

    def prepare(self, path: Path, record: Any = None, region: tuple[float, float] | None = None,
                ) -> Future | None:
        """Start writing the copy a drag of ``path`` (or of ``region`` of it) needs; None when the
        original itself is dragged."""
        options = drag_options(self.settings, path)
        if options is None and region is None:
            return None
        if region is not None and options is not None:
            options = dataclasses.replace(options, start=region[0], end=region[1],
                                          handles=self.settings.export_handles)
        key = self._key(Path(path), options or ConvertOptions(start=region[0], end=region[1]))
        if key is None:
            return None
        metadata = getattr(record, "metadata", None)
        if metadata is not None:  # an edit since the last copy makes a new copy
            key += (tuple(sorted(fields_to_write(metadata, getattr(record, "edits", {})).items())),)
        job = self._jobs.get(key)
        if job is None or (job.done() and (job.exception() is not None or not job.result().exists())):
            if options is None:  # a region as it is: the very samples, in the regions folder
                job = self._pool.submit(write_region, Path(path), *region)
            else:
                folder = self.folder / hashlib.sha1(repr(key).encode()).hexdigest()[:12]
                job = self._reuse(folder)
                if job is None:
                    item = ExportItem(Path(path), metadata, getattr(record, "edits", {}))
                    job = self._pool.submit(export_one, item, folder, options)
            self._jobs[key] = job
        return job

    @staticmethod
    def _reuse(folder: Path) -> Future | None:
        """The copy an earlier session made for the same file, options and fields (copies are
        renamed into place complete, so one that is there is whole)."""
        try:
            done = [p for p in folder.iterdir() if not p.name.startswith(".")]
        except OSError:
            return None
        if len(done) != 1:
            return None
        future: Future = Future()
        future.set_result(done[0])
        return future

    def files_for_drag(self, hits: list[Any]) -> list[Path]:
        """The files to put on the clipboard for these hits: converted copies where asked."""
        out = []
        for hit in hits:
            job = self.prepare(Path(hit.path), getattr(hit, "record", None))
            try:
                out.append(job.result(timeout=WAIT_S) if job is not None else Path(hit.path))
            except Exception as exc:  # noqa: BLE001 — a failed copy: the original is still worth a drop
                log.warning("could not convert %s for the drag: %s", hit.path, exc)
                out.append(Path(hit.path))
        return out

    def region_file(self, path: Path, start: float, end: float, record: Any = None) -> Path:
        return self.prepare(Path(path), record, (start, end)).result(timeout=WAIT_S)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
