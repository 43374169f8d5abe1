"""The retrieval model: encoders, the hybrid late-fusion head, the embedding pipeline, training
and evaluation.

This package is the only one that imports torch and transformers, and importing the package itself
does not: the decoding side of the pipeline (:mod:`soundsearch.model.pipeline`) is used by search at
start-up, before any model is loaded. The runtime API below loads torch on first use:
``load_model``, ``RetrievalModel``, ``build_tiny_model``, ``default_device``.
"""

from soundsearch.model.errors import ModelError

__all__ = ["ModelError", "RetrievalModel", "build_tiny_model", "default_device", "load_model"]


def __getattr__(name: str):
    if name in __all__:
        from soundsearch.model import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
