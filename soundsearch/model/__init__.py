"""The retrieval model: encoders, the hybrid late-fusion head, training and evaluation.

This package is the only one that imports torch and transformers. Other packages use the runtime
API re-exported here: ``load_model``, ``RetrievalModel``, ``build_tiny_model``.
"""

from soundsearch.model.api import (
    ModelError,
    RetrievalModel,
    build_tiny_model,
    default_device,
    load_model,
)

__all__ = ["ModelError", "RetrievalModel", "build_tiny_model", "default_device", "load_model"]
