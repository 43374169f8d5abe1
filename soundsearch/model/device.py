"""Which torch device to run on: cuda if present, else Apple's mps, else cpu; overridable."""

from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger(__name__)

ENV_DEVICE = "SOUNDSEARCH_DEVICE"
DEVICES = ("cuda", "mps", "cpu")


def available(kind: str) -> bool:
    kind = kind.split(":", 1)[0]
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        backend = getattr(torch.backends, "mps", None)
        return bool(backend and backend.is_available())
    return kind == "cpu"


def default_device(requested: str | None = None) -> str:
    """The device to use: ``requested`` ("auto"/None = best available; "cuda:1" kept as given) or,
    when nothing is requested, the ``SOUNDSEARCH_DEVICE`` environment variable. A device that is
    not available falls back to the best one, with a warning, so a setting copied from another
    machine never stops the app."""
    choice = (requested or os.environ.get(ENV_DEVICE) or "auto").strip().lower()
    if choice != "auto":
        if choice.split(":", 1)[0] not in DEVICES:
            raise ValueError(f"unknown device {choice!r}; expected auto, {', '.join(DEVICES)}")
        if available(choice):
            return choice
        log.warning("device %s is not available here; using the best available one", choice)
    return next(kind for kind in DEVICES if available(kind))
