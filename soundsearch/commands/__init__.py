"""CLI commands, one module per area. Each module exposes ``register(subparsers)``."""

from __future__ import annotations

from soundsearch.commands import duplicates, edit, library, model, search

COMMAND_MODULES = [library, model, search, edit, duplicates]
