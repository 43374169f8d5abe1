"""Encoder backends by name: a dict and a decorator per role, so a new encoder is one module.

An audio factory is ``factory(config: dict, weights: Path | None) -> nn.Module`` and a text factory
``factory(config: dict) -> nn.Module``; the modules keep these interfaces:

- audio: attributes ``sample_rate``, ``dim``, ``n_mels``; ``features(wave [B, S], lengths [B]) ->
  (mel [B, n_mels, frames], mel_lengths [B])``; ``encode_features(mel, mel_lengths) -> (seq [B, T,
  dim], mask [B, T] bool, True = valid)``; ``forward(wave, lengths)`` = both.
- text: attribute ``dim``; ``tokenize(texts) -> dict`` of tensors; ``forward(**tokens) -> [B, dim]``.

Backends register themselves on import; the built-in ones are imported below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from torch import nn

from soundsearch.model.errors import ModelError

log = logging.getLogger(__name__)

AudioFactory = Callable[[dict, "Path | None"], nn.Module]
TextFactory = Callable[[dict], nn.Module]

AUDIO_ENCODERS: dict[str, AudioFactory] = {}
TEXT_ENCODERS: dict[str, TextFactory] = {}


def _register(table: dict, role: str, name: str):
    def decorate(factory):
        if name in table and table[name] is not factory:
            log.debug("%s encoder %r registered again; the later one wins", role, name)
        table[name] = factory
        return factory

    return decorate


def register_audio(name: str):
    return _register(AUDIO_ENCODERS, "audio", name)


def register_text(name: str):
    return _register(TEXT_ENCODERS, "text", name)


def build_audio_encoder(name: str, config: dict | None = None, weights: Path | None = None) -> nn.Module:
    """An audio encoder in eval mode. ``weights``: a file to load instead of the backend's default."""
    factory = AUDIO_ENCODERS.get(name)
    if factory is None:
        raise ModelError(f"unknown audio encoder {name!r}; known: {', '.join(sorted(AUDIO_ENCODERS))}")
    return factory(dict(config or {}), Path(weights) if weights is not None else None)


def build_text_encoder(name: str, config: dict | None = None) -> nn.Module:
    """A text encoder in eval mode. Names not registered are tried as a local transformers folder
    or a model name in the Hugging Face cache (see ``text.py``)."""
    factory = TEXT_ENCODERS.get(name)
    if factory is None:
        factory = TEXT_ENCODERS["transformers"]
        config = {"model": name, **(config or {})}
    return factory(dict(config or {}))


@register_audio("tiny")
def _tiny_audio(config: dict, weights: Path | None = None) -> nn.Module:
    """The random-init test encoder of ``tiny.py`` (imported lazily; it is not a product backend)."""
    from soundsearch.model.tiny import TinyAudioEncoder

    return TinyAudioEncoder(**config).eval()


@register_text("tiny")
def _tiny_text(config: dict) -> nn.Module:
    from soundsearch.model.tiny import TinyTextEncoder

    return TinyTextEncoder(**config).eval()


# Built-in backends (imported last: they use the decorators above).
from soundsearch.model.encoders import aisfx, efficientat, text  # noqa: E402, F401
