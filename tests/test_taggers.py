"""Predicted tags: aisfx's classifier heads, the ucsMixed vocabulary, and the label bridge."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from soundsearch.model.encoders import aisfx
from soundsearch.model.errors import ModelError
from soundsearch.model.taggers import aisfx_heads

WHEEL_HEADS = {"prosfx": 78, "soundlyTrain": 79, "ucsMixed": 69, "soundstormBalanced": 81,
               "productionelementsBalanced": 10, "cartoonexpressBalanced": 27, "hpxdigitalBalanced": 3,
               "series6000Balanced": 23, "series9000Balanced": 8}


@pytest.fixture(scope="module")
def heads():
    return aisfx_heads.load_heads()


def test_wheel_checkpoint_has_nine_heads_with_their_dataset_map(heads):
    state, datasets = aisfx.read_checkpoint(aisfx.package_weights())
    assert {k: n for k, (_, n) in datasets.items()} == WHEEL_HEADS
    assert sorted(i for i, _ in datasets.values()) == list(range(9))
    for name, (index, n) in datasets.items():  # each head reads its own fc.<index> tensors
        assert torch.equal(heads.heads[name][4].weight, state[f"fc.{index}.4.weight"])
        assert heads.heads[name][4].out_features == n


def test_heads_average_block_probabilities_over_valid_blocks(heads):
    g = torch.Generator().manual_seed(0)
    seq = torch.rand(2, 3, 512, generator=g)
    mask = torch.tensor([[True, True, True], [True, False, False]])
    with torch.inference_mode():
        out = heads(seq, mask)
        one = heads(seq[1:, :1], mask[1:, :1])  # the second clip's padding must not count
        feats = heads.features(seq, mask)
    assert set(out) == set(WHEEL_HEADS)
    for name, n in WHEEL_HEADS.items():
        assert out[name].shape == (2, n)
        assert torch.allclose(out[name].sum(-1), torch.ones(2), atol=1e-5)
        assert torch.allclose(out[name][1], one[name][0], atol=1e-6)
        # by hand: the mean of each block's softmax
        state = heads.heads[name]
        manual = torch.softmax(state(seq[0]), -1).mean(0)
        assert torch.allclose(out[name][0], manual, atol=1e-6)
    assert feats.shape == (2, sum(WHEEL_HEADS.values()))


def test_checkpoint_without_heads_is_a_clear_error(tmp_path):
    path = tmp_path / "bare.pth"
    torch.save({"conv_block1.conv1.weight": torch.zeros(64, 1, 3, 3)}, path)
    with pytest.raises(ModelError, match="no classifier heads"):
        aisfx_heads.load_heads(path)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read"):
        aisfx_heads.load_heads(junk)


def test_alignment_recovers_a_planted_class_to_category_map():
    """Sounds named by category; a 'classifier' whose class k fires (noisily) on category pi[k]:
    the alignment must name each class by its category, and leave a class that fires at random
    (and one that fires on unnamed sounds only) unnamed."""
    from soundsearch.model.taggers.align import align

    rng = np.random.default_rng(0)
    cats = ["DOORS", "FOOTSTEPS", "GLASS", "RAIN", "BIRDS"]
    pi = [3, 0, 4, 1, 2]  # class k ↔ category cats[pi[k]]
    n = 600
    truth = rng.integers(0, len(cats), n)
    logits = rng.normal(0, 1.0, (n, 7))
    for k, g in enumerate(pi):
        logits[truth == g, k] += 3.0
    unnamed = rng.random(n) < 0.2  # a fifth of the sounds carry no usable name
    logits[unnamed, 6] += 4.0  # class 6 fires on those only; class 5 is noise
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    names = [None if u else cats[t] for t, u in zip(truth, unnamed)]
    got = align(probs, names)
    assert [a.tag for a in got[:5]] == [cats[g].lower() for g in pi]
    assert got[5].tag is None and got[6].tag is None
    assert all(a.purity > 0.5 and a.lift > 2 for a in got[:5])


def test_weak_categories_take_the_nearest_row_above_the_threshold():
    from soundsearch.model.taggers.align import weak_categories

    rows = np.eye(3, dtype=np.float32)
    caps = np.array([[0.9, 0.1, 0], [0.1, 0.2, 0.97], [0.5, 0.5, 0.5]], np.float32)
    caps /= np.linalg.norm(caps, axis=1, keepdims=True)
    assert weak_categories(caps, rows, ["DOORS", "GLASS", "RAIN"], 0.8) == ["DOORS", "RAIN", None]
