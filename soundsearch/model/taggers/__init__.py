"""Label-bearing audio models: predicted tags for sounds that carry no words of their own.

A :class:`Tagger` is a classifier over the audio encoder's block sequence plus a
:class:`~soundsearch.model.taggers.vocabulary.TagVocabulary` naming its classes. It runs inside
``RetrievalModel.embed_audio`` on the sequence the encoder already produced, so the index job
stores what it heard (``soundsearch.library.predicted``) at almost no extra cost, and the search
engine's label bridge matches query words to those tags.

The default model carries one tagger: aisfx's ``ucsMixed`` head (its classes named by
``align.py``), tag words are UCS categories. A checkpoint whose audio encoder is not aisfx has none.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import Tensor, nn

from soundsearch.library.predicted import Prediction
from soundsearch.model.errors import ModelError
from soundsearch.model.taggers.vocabulary import TagVocabulary, vocabulary_path

log = logging.getLogger(__name__)

AISFX_SOURCE = "aisfx-ucsMixed"


class Tagger(nn.Module):
    def __init__(self, classifier: nn.Module, vocab: TagVocabulary):
        super().__init__()
        self.classifier, self.vocab = classifier, vocab
        self.source = vocab.source

    def forward(self, seq: Tensor, mask: Tensor) -> Tensor:
        """Class probabilities ``[B, C]``."""
        return self.classifier(seq, mask)

    def prediction(self, class_probs: np.ndarray, k: int = 3) -> Prediction:
        probs = np.asarray(class_probs, np.float32)
        return Prediction(self.source, probs, self.vocab.top_tags(probs, k))


class _OneHead(nn.Module):
    """One dataset's head of :class:`~.aisfx_heads.AisfxHeads`."""

    def __init__(self, heads: nn.Module, dataset: str):
        super().__init__()
        self.heads, self.dataset = heads, dataset

    def forward(self, seq: Tensor, mask: Tensor) -> Tensor:
        return self.heads(seq, mask, (self.dataset,))[self.dataset]


def aisfx_tagger() -> Tagger:
    """aisfx's ``ucsMixed`` head with its recovered UCS vocabulary."""
    from soundsearch.model.taggers.aisfx_heads import load_heads

    vocab = TagVocabulary.load(vocabulary_path(AISFX_SOURCE))
    return Tagger(_OneHead(load_heads(), vocab.dataset), vocab).eval()


def default_taggers(audio_encoder_name: str) -> list[Tagger]:
    """The taggers that read ``audio_encoder_name``'s sequence; none when they cannot be loaded
    (the app then works as before, without predicted tags)."""
    if audio_encoder_name != "aisfx" or not vocabulary_path(AISFX_SOURCE).is_file():
        return []  # no vocabulary shipped for the aisfx head (see vocabulary.py): no tags from it
    try:
        return [aisfx_tagger()]
    except (ModelError, OSError, ValueError, KeyError) as exc:
        log.warning("predicted tags are off: the aisfx tagger could not be loaded (%s)", exc)
        return []


class _TinyClassifier(nn.Module):
    def __init__(self, dim: int, classes: int):
        super().__init__()
        self.linear = nn.Linear(dim, classes)

    def forward(self, seq: Tensor, mask: Tensor) -> Tensor:
        w = mask.to(seq.dtype) / mask.sum(dim=1, keepdim=True).clamp_min(1).to(seq.dtype)
        return (torch.softmax(self.linear(seq), dim=-1) * w.unsqueeze(-1)).sum(dim=1)


def tiny_tagger(dim: int = 32) -> Tagger:
    """A random-init tagger with a four-word vocabulary, for tests (runs the real code paths)."""
    vocab = TagVocabulary("tiny-tagger", "tiny", ["bright", "dark", "noisy", "tonal", None, "bright"],
                          {"bright": "bright high shrill", "dark": "dark low rumble",
                           "noisy": "noise hiss static", "tonal": "tone pitch hum"}, min_score=0.2)
    return Tagger(_TinyClassifier(dim, len(vocab.classes)), vocab).eval()
