"""Embedding the catalog's fields into the sound files themselves — the one place soundsearch
writes a user's audio file, and only when the user asks ("Write to file", ``write-tags``).

The safe path, every time: refuse a file that is read-only, has other hard links, or changed since
it was scanned; write the tags into a temporary copy in the same folder (the original is only
read); decode both and require every sample to be identical (:mod:`verify`); read the copy back
with our own readers and require the new fields; then, if the original is still as it was,
replace it atomically (``os.replace``, folder synced). Any failure removes the copy and leaves the
original untouched, byte for byte.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from soundsearch.atomic import fsync_dir
from soundsearch.audio.probe import sniff
from soundsearch.library.metadata import read_metadata
from soundsearch.library.tagging.mutagen_tags import FORMATS, TagWriteFailed, write_with_mutagen
from soundsearch.library.tagging.riff_tags import BEXT_DESCRIPTION, RiffWriteError, write_wav_tags
from soundsearch.library.tagging.verify import AudioMismatch, same_audio
from soundsearch.library.user_edits import EDITABLE_NAMES, current_value

log = logging.getLogger(__name__)

# what the extension promises → the content families a writer accepts for it
_FAMILIES = {".wav": "wav", ".wave": "wav", ".bwf": "wav", ".rf64": "wav", ".flac": "flac",
             ".ogg": ("ogg", "opus"), ".oga": ("ogg", "opus"), ".opus": "opus", ".mp3": "mp3",
             ".m4a": "m4a", ".mp4": "m4a", ".aif": "aiff", ".aiff": "aiff", ".aifc": "aiff"}
WRITABLE = frozenset(_FAMILIES)


class TagWriteError(Exception):
    """The tags were not written; the original file is as it was. ``str()`` says why."""


@dataclass
class WriteOutcome:
    path: Path
    fields: dict[str, str]
    verified: str  # how the audio was found identical: "decoded" or "audio bytes"
    size: int
    mtime_ns: int


def fields_to_write(metadata, edits: dict[str, str] | None = None) -> dict[str, str]:
    """The editable fields a file shows (edited or read), and the ones the user cleared ("")."""
    edits = edits or {}
    out = {}
    for name in EDITABLE_NAMES:
        value = current_value(metadata, name)
        if value or name in edits:
            out[name] = value
    return out


def _refusal(path: str, st: os.stat_result, expect: tuple[int, int] | None) -> str | None:
    """Why this file must not be written, or None."""
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    if expect is not None and (st.st_size, st.st_mtime_ns) != tuple(expect):
        return "the file changed since it was scanned (rescan it first)"
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        return "the file is read-only"
    if st.st_nlink > 1:
        return "the file has other hard links, which a rewritten copy would no longer share"
    folder = os.path.dirname(path)
    if not os.access(folder, os.W_OK | os.X_OK):
        return "its folder is read-only (the tagged copy is written beside the file)"
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in WRITABLE:
        return f"cannot write tags into {suffix or 'extension-less'} files"
    with open(path, "rb") as f:
        kind = sniff(f.read(4096))
    families = _FAMILIES[suffix]
    if kind not in (families if isinstance(families, tuple) else (families,)):
        return f"the file's content ({kind or 'unknown'}) does not match its {suffix} extension"
    return None


def _check_readback(copy: str, fields: dict[str, str]) -> None:
    got = read_metadata(Path(copy))
    for name, value in fields.items():
        if not value:
            continue
        values = got.get(name)
        if value in values:
            continue
        if name == "description" and any(value.startswith(v) for v in values if len(v.encode()) >= 200):
            continue  # bext holds 256 bytes; the whole text is in iXML, checked through the same list
        raise TagWriteError(f"reading the copy back did not give {name} = {value!r} (got {values!r})")


def safe_write(path: str | Path, fields: dict[str, str], *, expect: tuple[int, int] | None = None,
               keep_times: bool = False,
               before_replace: Callable[[Path], None] | None = None) -> WriteOutcome:
    """Write ``fields`` into ``path`` by the safe path above. ``expect``: the (size, mtime_ns) the
    catalog saw; ``before_replace`` is called with the verified copy just before the swap (tests
    interrupt there). Raises TagWriteError with the reason; the original is then untouched."""
    real = os.path.realpath(path)  # a symlink stays a symlink: its target gets the tags
    try:
        st = os.stat(real)
        reason = _refusal(real, st, expect)
    except OSError as exc:
        raise TagWriteError(f"cannot read the file: {exc.strerror or exc}") from None
    if reason:
        raise TagWriteError(reason)
    folder, name = os.path.split(real)
    stem, suffix = os.path.splitext(name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{stem[:60]}.", suffix=f".soundsearch-tmp{suffix}", dir=folder)
    except OSError as exc:
        raise TagWriteError(f"cannot write beside the file: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        if _FAMILIES[suffix.lower()] == "wav":  # the content was checked to match (see _refusal)
            write_wav_tags(real, tmp, fields)
        elif suffix.lower() in FORMATS:
            shutil.copyfile(real, tmp)
            write_with_mutagen(Path(tmp), fields)
        shutil.copymode(real, tmp)
        verified = same_audio(real, tmp)
        _check_readback(tmp, fields)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if keep_times:
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        if before_replace is not None:
            before_replace(Path(tmp))
        now = os.stat(real)
        if (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            raise TagWriteError("the file changed while its tags were being written; nothing replaced")
        os.replace(tmp, real)
        fsync_dir(folder)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, TagWriteError) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, (RiffWriteError, TagWriteFailed, AudioMismatch)):
            raise TagWriteError(str(exc)) from exc
        log.debug("tag write failed for %s", real, exc_info=True)
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        raise TagWriteError(f"could not write the tags: {reason}") from exc
    done = os.stat(real)
    log.info("wrote %d fields into %s (audio identical: %s)", len(fields), real, verified)
    return WriteOutcome(Path(real), fields, verified, done.st_size, done.st_mtime_ns)


def write_record(catalog, record, keep_times: bool = False,
                 before_replace: Callable[[Path], None] | None = None) -> WriteOutcome:
    """Embed a catalogued file's fields into it and bring its catalog row up to date (new size,
    time and content hash; the vectors stay, since the audio is identical)."""
    fields = fields_to_write(record.metadata, record.edits)
    if not fields:
        raise TagWriteError("nothing to write: the file has no description, keywords, category …")
    if "description" in fields and len(fields["description"].encode()) > BEXT_DESCRIPTION:
        log.info("%s: description longer than bext holds; the whole text goes into iXML", record.path)
    outcome = safe_write(record.path, fields, expect=(record.size, record.mtime_ns), keep_times=keep_times,
                         before_replace=before_replace)
    catalog.note_rewritten(record.id, outcome.path)
    return outcome
