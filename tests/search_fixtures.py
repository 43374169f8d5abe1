"""Fixtures shared by the index/search tests: a small real library, its catalog, a tiny model.

Loaded by tests/test_indexer.py, test_search.py and test_cli_search.py with
``pytest_plugins = ["search_fixtures"]``; not in the shared conftest so that they stay with the
files that use them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from search_helpers import index, make_library, scan

from soundsearch import paths


@pytest.fixture(scope="session")
def _tiny_model():
    from soundsearch.model import build_tiny_model

    return build_tiny_model(seed=0)


@pytest.fixture
def tiny_model(_tiny_model):
    return copy.deepcopy(_tiny_model)


@pytest.fixture
def model_dir(tmp_path, tiny_model) -> str:
    """The tiny model saved as a checkpoint folder: what a CLI process loads with --model."""
    from soundsearch.model.checkpoint import collect_state, save_checkpoint

    folder = tmp_path / "tiny-model"
    state = collect_state(tiny_model.head, tiny_model.audio_encoder, tiny_model.text_encoder)
    save_checkpoint(folder, tiny_model.config, state)
    return str(folder)


@pytest.fixture
def library(tmp_path) -> Path:
    return make_library(tmp_path / "library")


@pytest.fixture
def catalog(home):
    from soundsearch.library.catalog import Catalog

    cat = Catalog(paths.catalog_path())
    yield cat
    cat.close()


@pytest.fixture
def indexed(catalog, library, tiny_model):
    """(catalog, model, library root) with the library scanned and indexed."""
    scan(catalog, library)
    index(catalog, tiny_model)
    return catalog, tiny_model, library
