"""The one exception the audio layer raises for a file it cannot use."""

from __future__ import annotations


class AudioError(Exception):
    """A file that cannot be probed or decoded. ``reason`` is a sentence a user can act on
    ("empty file (0 bytes)", "not an audio file: the content is a PNG image"), shown by
    ``soundsearch errors`` and the GUI."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
