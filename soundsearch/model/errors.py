"""The one error type the model package raises for problems a user can act on."""

from __future__ import annotations


class ModelError(RuntimeError):
    """A model or encoder could not be built or loaded; the message says why and what to do."""
