"""soundsearch: an offline sound-library browser with hybrid (audio + metadata) search."""

__version__ = "0.1.0"
