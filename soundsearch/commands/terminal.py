"""Text from the user's files, made safe to print: file names and tags can hold anything.

A file named with escape sequences cleared the screen or retitled the window when ``errors``
printed it; a newline in a name split one result into two lines; an undecodable byte in a name came
out raw, making ``search --json`` invalid UTF-8. Every value that comes from a file goes through
:func:`clean` before a terminal sees it; JSON goes through :func:`json_text`.
"""

from __future__ import annotations

import json
import re

# C0 controls (ESC, newline, carriage return, tab, BEL …), DEL and the C1 controls (U+0080–U+009F,
# which some terminals also obey)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _visible_bytes(text: str) -> str:
    """Lone surrogates (undecodable bytes of a file name, see os.fsdecode) as \\xNN."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that did not come from a byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clean(text: object) -> str:
    """``text`` as one printable line: control characters shown as \\xNN, raw bytes as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", _visible_bytes(str(text)))


def _visible(data: object) -> object:
    if isinstance(data, str):
        return _visible_bytes(data)
    if isinstance(data, dict):
        return {_visible(k): _visible(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_visible(v) for v in data]
    return data


def json_text(data: object, indent: int | None = None) -> str:
    """JSON that is valid UTF-8 whatever the data holds: undecodable bytes in strings become the
    text \\xNN before encoding (so they stay valid JSON); JSON escapes control characters itself."""
    return json.dumps(_visible(data), indent=indent, ensure_ascii=False)
