"""Everything a sound file says about itself, merged into one :class:`Metadata` record.

Each source (embedded tags, RIFF chunks, file/folder names, UCS names, sidecar files) is one small
module that registers a reader function by name (a new source is one new module)::

    @register("filename")
    def read(path: Path, ctx: ReadContext) -> list[Field]: ...

:func:`read_metadata` runs every registered reader, keeps each field's provenance, and builds the
*metadata text* that the model embeds. A reader that fails records an error for that source and
the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from soundsearch.library.metadata.names import fix_surrogates
from soundsearch.library.metadata.text import build_text, clean_value

log = logging.getLogger(__name__)

MAX_FIELDS = 500  # per file, all sources together (each value is at most MAX_VALUE_CHARS)


@dataclass(frozen=True)
class Field:
    """One piece of metadata: ``name`` is normalised (e.g. "description", "keywords", "category"),
    ``source`` says where it came from (e.g. "id3:TIT2", "ixml:USER/FXNAME", "filename", "ucs",
    "sidecar:foo.json")."""

    name: str
    value: str
    source: str


@dataclass(frozen=True)
class FileBytes:
    """Bytes of the file being read that the caller already holds (the scanner reads each file's
    ends once for its content hash and header): readers use them instead of opening the file."""

    path: str  # os.fspath() of the file they belong to
    size: int
    head: bytes  # the first bytes: the whole file when ``tail`` is b""
    tail: bytes = b""  # the last bytes, for a file longer than ``head``

    def get(self, offset: int, n: int) -> bytes | None:
        """``n`` bytes at ``offset`` (fewer at the end of the file), or None when not held."""
        if offset + n <= len(self.head) or not self.tail:
            return self.head[offset:offset + n]
        start = self.size - len(self.tail)
        if offset >= start:
            return self.tail[offset - start:offset - start + n]
        return None


@dataclass
class ReadContext:
    """What readers may share while scanning: the library root the file was found under, a cache
    for folder-level data (parsed CSV sheets, folder description files) so each is read once, and
    optionally the bytes already read from the file (see :meth:`bytes_of`)."""

    root: Path | None = None
    cache: dict = field(default_factory=dict)
    file: FileBytes | None = None

    def bytes_of(self, path: Path) -> FileBytes | None:
        """The held bytes of ``path``, or None (read the file yourself)."""
        held = self.file
        return held if held is not None and held.path == str(path) else None


@dataclass
class Metadata:
    fields: list[Field] = field(default_factory=list)
    text: str = ""  # the metadata text the model embeds; "" when the file carries no words
    errors: list[str] = field(default_factory=list)  # per-source failures, e.g. "riff: bad iXML"

    @property
    def untagged(self) -> bool:
        return not self.text

    def get(self, name: str) -> list[str]:
        return [f.value for f in self.fields if f.name == name]

    def by_source(self) -> dict[str, list[Field]]:
        """Fields grouped by source family ("id3", "ixml", "bext", "info", "filename", "ucs",
        "sidecar", ...), in reading order — what the CLI's ``info`` and the GUI detail pane show."""
        groups: dict[str, list[Field]] = {}
        for f in self.fields:
            groups.setdefault(f.source.split(":", 1)[0], []).append(f)
        return groups

    def to_json(self) -> dict:
        return {
            "fields": [{"name": f.name, "value": f.value, "source": f.source} for f in self.fields],
            "text": self.text,
            "errors": list(self.errors),
        }

    @classmethod
    def from_json(cls, data: dict) -> Metadata:
        return cls(
            fields=[Field(**f) for f in data.get("fields", [])],
            text=data.get("text", ""),
            errors=list(data.get("errors", [])),
        )


Reader = Callable[[Path, ReadContext], list[Field]]
READERS: dict[str, Reader] = {}


def register(name: str) -> Callable[[Reader], Reader]:
    def deco(fn: Reader) -> Reader:
        READERS[name] = fn
        return fn

    return deco


class ReaderError(Exception):
    """Raised by a reader that got some fields but also hit a problem (a corrupt iXML chunk beside a
    good bext chunk, one bad sidecar beside a good sheet): the fields are kept, the reason recorded."""

    def __init__(self, reason: str, fields: list[Field] | None = None):
        super().__init__(reason)
        self.fields = list(fields or [])


def _reason(exc: BaseException, path: Path) -> str:
    """A short reason: the path is already known to whoever lists the error."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    text = text.replace(f"'{path}'", repr(path.name)).replace(str(path), path.name)
    return fix_surrogates(text[:300])


def read_metadata(path: Path, ctx: ReadContext | None = None) -> Metadata:
    """Run every registered reader on ``path``; merge their fields and build the metadata text.

    Never raises for a bad file: each reader's failure becomes ``"<source>: <reason>"`` in
    ``Metadata.errors`` and the other readers still run. The file is only ever read.
    """
    path = Path(path)
    ctx = ctx if ctx is not None else ReadContext()
    fields: list[Field] = []
    errors: list[str] = []
    for name, reader in _ordered_readers():
        try:
            got = reader(path, ctx)
        except ReaderError as exc:
            got = exc.fields
            errors.append(f"{name}: {_reason(exc, path)}")
        except Exception as exc:  # noqa: BLE001 — one bad source must not lose the others
            log.debug("metadata reader %s failed on %s", name, path, exc_info=True)
            got = []
            errors.append(f"{name}: {_reason(exc, path)}")
        fields.extend(got)
    fields = _merge(fields + ucs.expand_tagged_catids(fields))
    if len(fields) > MAX_FIELDS:  # the catalog row stays small whatever the sources held
        errors.append(f"metadata: only the first {MAX_FIELDS:,} of {len(fields):,} fields kept")
        fields = fields[:MAX_FIELDS]
    return Metadata(fields=fields, text=build_text(fields), errors=errors)


# Tags written by people come first so that, when two sources say the same thing, the field keeps
# the more authoritative provenance; readers registered by plugins run after these.
_ORDER = ("embedded", "riff", "ucs", "filename", "sidecar")


def _reading_order(item: tuple[str, Reader]) -> int:
    return _ORDER.index(item[0]) if item[0] in _ORDER else len(_ORDER)


_SORTED: list = [(), []]  # (READERS' items, those items in reading order): sorted once, not per file


def _ordered_readers() -> list[tuple[str, Reader]]:
    items = tuple(READERS.items())
    if items != _SORTED[0]:  # a reader was registered (or replaced) since
        _SORTED[:] = [items, sorted(items, key=_reading_order)]
    return _SORTED[1]


def _merge(fields: list[Field]) -> list[Field]:
    """Clean values and drop repeats of the same (name, value): the first source read wins."""
    seen: set[tuple[str, str]] = set()
    out: list[Field] = []
    for f in fields:
        value = clean_value(f.value)
        key = (f.name, value.casefold())
        if not value or key in seen:
            continue
        seen.add(key)
        source = fix_surrogates(f.source)  # a sidecar's name may not be UTF-8
        out.append(f if (value, source) == (f.value, f.source) else Field(f.name, value, source))
    return out


# Importing the source modules registers them (reading order: _ORDER above).
from soundsearch.library.metadata import (  # noqa: E402
    embedded,  # noqa: F401
    filename,  # noqa: F401
    riff,  # noqa: F401
    sidecar,  # noqa: F401
    ucs,
)
