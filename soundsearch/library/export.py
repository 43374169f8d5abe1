"""Export: converted copies of library sounds, carrying their metadata, into a folder of the user's.

One call serves the app's "Export to…", drag-with-conversion and ``soundsearch export``: each
file is converted (:mod:`soundsearch.audio.convert`), its fields written into the copy (WAV: bext
description and iXML with the Soundminer/BaseHead USER block; FLAC: Vorbis comments; AIFF: an ID3
chunk), then moved to its final name without ever replacing an existing file ("name 2.wav"). A
batch is a job (a generator of Progress); one file that fails is reported and the rest go on.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from soundsearch.audio.convert import EXTENSIONS, ConvertOptions, convert, out_format
from soundsearch.audio.errors import AudioError
from soundsearch.jobs import CancelToken, Job, Progress
from soundsearch.library.metadata import Metadata, read_metadata
from soundsearch.library.rename import move_file_safely
from soundsearch.library.tagging import fields_to_write
from soundsearch.library.tagging.mutagen_tags import TagWriteFailed, write_with_mutagen
from soundsearch.library.tagging.riff_tags import RiffWriteError, write_wav_tags

log = logging.getLogger(__name__)

DEFAULT_PATTERN = "{stem}"
REGION_PATTERN = "{stem} {start}-{end}s"
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


@dataclass
class ExportItem:
    path: Path
    metadata: Metadata | None = None  # None: read from the file
    edits: dict = field(default_factory=dict)


@dataclass
class ExportResult:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def target_name(pattern: str, item: ExportItem, metadata: Metadata, options: ConvertOptions, number: int,
                fmt: str) -> str:
    values = {
        "stem": item.path.stem, "n": f"{number:03d}",
        "catid": next(iter(metadata.get("catid")), ""), "fxname": next(iter(metadata.get("fxname")), ""),
        "rate": str(options.sample_rate or ""), "bits": "" if options.bits == "original" else options.bits,
        "start": f"{options.start or 0:.3f}", "end": "" if options.end is None else f"{options.end:.3f}",
    }
    try:
        name = pattern.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"bad naming pattern {pattern!r}: use {{{'}, {'.join(values)}}}") from exc
    name = re.sub(r"\s+", " ", _UNSAFE.sub("_", name)).strip(" .") or item.path.stem or "sound"
    return name[:150] + EXTENSIONS[fmt]


def _free(folder: Path, name: str) -> Path:
    target = folder / name
    stem, suffix = os.path.splitext(name)
    number = 1
    while os.path.lexists(target):
        number += 1
        target = folder / f"{stem} {number}{suffix}"
    return target


def carry_metadata(path: Path, fmt: str, fields: dict[str, str]) -> None:
    """Write ``fields`` into our own freshly written copy ``path``."""
    fields = {k: v for k, v in fields.items() if v}
    if not fields:
        return
    if fmt == "wav":
        tagged = path.with_name(path.name + ".tags")
        try:
            write_wav_tags(path, tagged, fields)
            os.replace(tagged, path)
        finally:
            tagged.unlink(missing_ok=True)
    else:
        write_with_mutagen(path, fields)


def export_one(item: ExportItem, out_dir: Path, options: ConvertOptions, pattern: str | None = None,
               number: int = 1, seed: int | None = None) -> Path:
    """Convert one file into ``out_dir``; returns the new file's path. Raises AudioError/ValueError."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = item.metadata if item.metadata is not None else read_metadata(item.path)
    fmt = out_format(item.path.suffix, options)
    pattern = pattern or (REGION_PATTERN if options.start is not None else DEFAULT_PATTERN)
    name = target_name(pattern, item, metadata, options, number, fmt)
    fd, tmp_name = tempfile.mkstemp(prefix=".export-", suffix=EXTENSIONS[fmt], dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        convert(item.path, tmp, options, seed=seed)
        try:
            carry_metadata(tmp, fmt, fields_to_write(metadata, item.edits))
        except (RiffWriteError, TagWriteFailed) as exc:  # the audio is what matters: keep it
            log.warning("%s: metadata not carried: %s", item.path, exc)
        os.chmod(tmp, 0o644)
        target = _free(out_dir, name)
        move_file_safely(tmp, target)
        return target
    finally:
        tmp.unlink(missing_ok=True)


def export_files(items: Sequence[ExportItem], out_dir: Path, options: ConvertOptions,
                 pattern: str | None = None, cancel: CancelToken | None = None) -> Job[ExportResult]:
    """Export every item; yields Progress, returns an ExportResult (per-file failures listed)."""
    result = ExportResult()
    started = time.monotonic()
    yield Progress("export", 0, len(items), "", started=started)
    for number, item in enumerate(items, 1):
        if cancel is not None:
            cancel.check()
        try:
            result.written.append(export_one(item, out_dir, options, pattern, number))
        except (AudioError, ValueError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            result.failed.append((item.path, reason))
        yield Progress("export", number, len(items), item.path.name, started=started)
    return result
