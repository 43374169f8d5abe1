"""iXML chunk contents: the production fields, the ``<USER>`` block that Soundminer and BaseHead
write (CATID, CATEGORY, SUBCATEGORY, FXNAME, DESCRIPTION, KEYWORDS, LIBRARY, DESIGNER, MICROPHONE
...), the ``<ASWG>`` block (Audio Standards Working Group game-audio fields) and the ``<BEXT>``
mirror. Parsed with :mod:`safexml`, so entity declarations are refused, never expanded.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from soundsearch.library.metadata import Field
from soundsearch.library.metadata.names import field_name
from soundsearch.library.metadata.safexml import local, parse

MAX_BLOCK_FIELDS = 200

# Production data: kept for the detail pane, never part of the metadata text.
_PRODUCTION = {"PROJECT": "project", "SCENE": "scene", "TAKE": "take", "TAPE": "tape"}
_BEXT_MIRROR = {"BWF_DESCRIPTION": "description", "BWF_ORIGINATOR": "originator"}
_KEY_VALUE_LINE = re.compile(r"^\s*([A-Za-z][\w .-]{0,40}?)\s*[=:]\s*(.+?)\s*$")


def _text(elem: Element) -> str:
    return "".join(elem.itertext()).strip()


def _block(elem: Element, block: str) -> list[Field]:
    """Fields of a USER or ASWG block: child elements, or "KEY=value" lines in its text, which
    some tools write instead of elements."""
    fields: list[Field] = []
    children = list(elem)
    if children:
        pairs = ((local(c.tag), _text(c)) for c in children)
    else:
        pairs = (m.groups() for m in map(_KEY_VALUE_LINE.match, (elem.text or "").splitlines()) if m)
    for key, value in pairs:
        if value and len(fields) < MAX_BLOCK_FIELDS:
            fields.append(Field(field_name(key), value, f"ixml:{block}/{key}"))
    return fields


def ixml_fields(data: bytes) -> list[Field]:
    root = parse(data)
    fields: list[Field] = []
    for child in root:
        tag = local(child.tag).upper()
        if tag in ("USER", "ASWG"):
            fields += _block(child, tag)
        elif tag == "NOTE":
            if value := _text(child):
                fields.append(Field("comment", value, "ixml:NOTE"))
        elif tag in _PRODUCTION:
            if value := _text(child):
                fields.append(Field(_PRODUCTION[tag], value, f"ixml:{tag}"))
        elif tag == "BEXT":
            for sub in child:
                key = local(sub.tag).upper()
                if key in _BEXT_MIRROR and (value := _text(sub)):
                    fields.append(Field(_BEXT_MIRROR[key], value, f"ixml:BEXT/{key}"))
    return fields
