"""Checkpoints: safetensors + config.json + card.md round-trip, model ids, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from soundsearch.model import ModelError, build_tiny_model, load_model
from soundsearch.model.checkpoint import collect_state, load_checkpoint, save_checkpoint


def _save(model, folder, card="# tiny\n"):
    state = collect_state(model.head, model.audio_encoder, model.text_encoder)
    return save_checkpoint(folder, model.config, state, card)


def test_round_trip_same_outputs_and_id(tmp_path):
    model = build_tiny_model(seed=3)
    model_id = _save(model, tmp_path / "m")
    assert model_id == model.model_id
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["card.md", "config.json", "model.safetensors"]
    loaded = load_model(tmp_path / "m", device="cpu")
    assert loaded.model_id == model.model_id
    assert loaded.card == "# tiny\n"
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (5000, 30000)]
    assert np.array_equal(loaded.embed_audio(waves), model.embed_audio(waves))
    texts = ["metal clang", "soft rain on a tent"]
    assert np.array_equal(loaded.embed_query(texts), model.embed_query(texts))
    assert np.array_equal(loaded.embed_metadata(texts), model.embed_metadata(texts))


def test_config_is_plain_json_and_training_notes_do_not_change_id(tmp_path):
    model = build_tiny_model(seed=0)
    _save(model, tmp_path / "a")
    data = json.loads((tmp_path / "a" / "config.json").read_text())
    assert data["head"]["fusion"] == "late" and data["audio"]["name"] == "tiny"
    data["training"] = {"data": "something else"}
    (tmp_path / "a" / "config.json").write_text(json.dumps(data))
    assert load_model(tmp_path / "a").model_id == model.model_id
    data["head"]["dim"] = 8  # a config change is a different model (and here does not fit the weights)
    (tmp_path / "a" / "config.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="do not match"):
        load_model(tmp_path / "a")


def test_weights_change_changes_id(tmp_path):
    model = build_tiny_model(seed=0)
    _save(model, tmp_path / "a")
    cfg, state, _ = load_checkpoint(tmp_path / "a")
    state["head.proj_audio.1.bias"] = state["head.proj_audio.1.bias"] + 1e-3
    assert save_checkpoint(tmp_path / "b", cfg, state) != model.model_id


def test_missing_and_corrupt_checkpoints_raise_model_error(tmp_path):
    with pytest.raises(ModelError, match="not a model folder"):
        load_model(tmp_path / "nothing")
    model = build_tiny_model()
    _save(model, tmp_path / "c")
    (tmp_path / "c" / "model.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(ModelError):
        load_model(tmp_path / "c")
    _save(model, tmp_path / "d")
    (tmp_path / "d" / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="bad model config"):
        load_model(tmp_path / "d")


def test_pickle_is_never_loaded(tmp_path):
    """A folder holding only a pickled torch file is refused, not executed."""
    import torch

    (tmp_path / "p").mkdir()
    torch.save({"x": torch.zeros(1)}, tmp_path / "p" / "model.pt")
    with pytest.raises(ModelError):
        load_model(tmp_path / "p")
