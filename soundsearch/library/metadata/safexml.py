"""XML parsing that refuses entity tricks (billion laughs, external entities).

iXML chunks and .xml sidecars come from arbitrary files. Instead of adding a dependency
(defusedxml does the same thing), we drive expat ourselves: any entity declaration or external
entity reference stops the parse, parameter entities are never read, and the element count is
bounded. The tree is built with ElementTree's TreeBuilder so callers get ordinary Elements.
"""

from __future__ import annotations

import re
import xml.parsers.expat as expat
from xml.etree.ElementTree import Element, TreeBuilder

from soundsearch.library.metadata.names import decode_file_text

MAX_XML_BYTES = 4 * 1024 * 1024
MAX_ELEMENTS = 50_000

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


class UnsafeXML(ValueError):
    """The document declares entities or reaches outside itself; it was not expanded."""


def _refuse(*_args: object) -> None:
    raise UnsafeXML("XML entity declarations are not allowed")


def _parse_once(data: bytes | str) -> Element:
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    count = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise ValueError(f"XML has more than {MAX_ELEMENTS} elements")
        builder.start(tag, attrs)

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.Parse(data, True)
    return builder.close()


def parse(data: bytes) -> Element:
    """Parse ``data`` into an Element. Raises :class:`UnsafeXML` for entity declarations and
    ``ValueError`` for anything else that is not a usable document."""
    data = data.rstrip(b"\x00 \r\n\t")  # chunks are often NUL-padded
    if len(data) > MAX_XML_BYTES:
        raise ValueError(f"XML larger than {MAX_XML_BYTES} bytes")
    if not data:
        raise ValueError("empty XML")
    try:
        return _parse_once(data)
    except UnsafeXML:
        raise
    except expat.ExpatError as first:
        # Latin-1 text in a document that says (or defaults to) UTF-8, or an encoding expat does
        # not know (windows-1252): decode it ourselves and parse the text.
        text = _DECLARATION.sub("", decode_file_text(data), count=1)
        try:
            return _parse_once(text)
        except UnsafeXML:
            raise
        except expat.ExpatError:
            raise ValueError(f"bad XML: {first}") from None


def local(tag: str) -> str:
    """Tag name without a namespace ("{ns}FXNAME" or "ns:FXNAME" -> "FXNAME")."""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
