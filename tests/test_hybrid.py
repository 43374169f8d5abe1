"""The hybrid head: pooling, masks, global-token init, projections and fusion arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from soundsearch.model import build_tiny_model
from soundsearch.model.hybrid import (
    HybridConfig,
    HybridModel,
    PoolConfig,
    masked_mean,
    sinusoidal_positions,
)


def _head(fusion="late", layers=1, width=0) -> HybridModel:
    torch.manual_seed(0)
    cfg = HybridConfig(audio_dim=12, text_dim=10, dim=8, fusion=fusion,
                       pool=PoolConfig(layers=layers, heads=2, width=width))
    return HybridModel(cfg).eval()


def _batch(b=3, t=5):
    g = torch.Generator().manual_seed(1)
    seq = torch.randn(b, t, 12, generator=g)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[1, 2:] = False
    mask[2, 4:] = False
    return seq, mask


def test_masked_mean_ignores_padding_and_empty_rows():
    seq, mask = _batch()
    mean = masked_mean(seq, mask)
    assert torch.allclose(mean[1], seq[1, :2].mean(0))
    empty = masked_mean(seq, torch.zeros_like(mask))
    assert torch.equal(empty, torch.zeros_like(empty))


@pytest.mark.parametrize("width", [0, 16])
def test_global_token_starts_as_masked_mean_plus_bias(width):
    head = _head(width=width)
    with torch.no_grad():
        head.pool.global_bias.copy_(torch.linspace(-1, 1, head.pool.width))
    seq, mask = _batch()
    expected = masked_mean(head.pool.tokens(seq), mask) + head.pool.global_bias
    assert torch.allclose(head.pool.global_token(seq, mask), expected)
    if width == 0:  # no input projection: literally the mean of the encoder's frames
        plain = masked_mean(seq, mask) + head.pool.global_bias
        assert torch.allclose(head.pool.global_token(seq, mask), plain)


def test_padding_does_not_change_pooled_vector():
    head = _head()
    seq, mask = _batch()
    with torch.no_grad():
        full = head.embed_audio(seq, mask)
        garbage = seq.clone()
        garbage[~mask] = 1e3  # whatever sits in padded frames must not leak in
        assert torch.allclose(head.embed_audio(garbage, mask), full, atol=1e-5)
        alone = head.embed_audio(seq[1:2, :2], mask[1:2, :2])
    assert torch.allclose(alone, full[1:2], atol=1e-5)


def test_zero_layers_is_mean_pooling():
    head = _head(layers=0)
    seq, mask = _batch()
    assert head.pool.layers is None
    with torch.no_grad():
        assert torch.allclose(head.pool(seq, mask)[0], masked_mean(seq, mask))


def test_sinusoidal_positions_are_fixed_and_distinct():
    p = sinusoidal_positions(7, 12)
    assert p.shape == (7, 12)
    assert torch.equal(p, sinusoidal_positions(7, 12))
    assert torch.allclose(p[0, :6], torch.zeros(6))  # sin(0)
    assert len({tuple(r.round(decimals=4).tolist()) for r in p}) == 7
    assert not any(isinstance(b, torch.nn.Parameter) for b in [p])


def test_late_fusion_arithmetic():
    head = _head()
    seq, mask = _batch()
    meta = torch.randn(3, 10)
    has = torch.tensor([True, False, True])
    with torch.no_grad():
        items = head.items(seq, mask, meta, has)
        a, m = head.embed_audio(seq, mask), head.embed_meta(meta)
    expected = torch.nn.functional.normalize(a + m, dim=-1)
    assert torch.allclose(items[0], expected[0], atol=1e-6)
    assert torch.allclose(items[1], torch.nn.functional.normalize(a[1], dim=-1), atol=1e-6)
    assert torch.allclose(items.norm(dim=-1), torch.ones(3))


def test_single_branch_modes():
    seq, mask = _batch()
    meta, has = torch.randn(3, 10), torch.tensor([True, False, True])
    audio_head, meta_head = _head("audio"), _head("metadata")
    with torch.no_grad():
        ia = audio_head.items(seq, mask, meta, has)
        im = meta_head.items(seq, mask, meta, has)
    assert torch.allclose(ia.norm(dim=-1), torch.ones(3))
    assert torch.equal(im[1], torch.zeros(8))  # no metadata: nothing to match


def test_mid_fusion_scores_weighted_and_missing_metadata():
    head = _head("mid")
    seq, mask = _batch()
    meta, has = torch.randn(3, 10), torch.tensor([True, False, True])
    text = torch.randn(4, 10)
    with torch.no_grad():
        items, queries = head.items(seq, mask, meta, has), head.queries(text)
        s = head.scores(queries, items)
        qa, qm, w = queries
        ia, im, _ = items
    assert s.shape == (4, 3)
    assert torch.allclose(w.sum(-1), torch.ones(4))
    assert torch.allclose(s[:, 1], qa @ ia[1], atol=1e-6)  # audio part alone, weight renormalised
    expected = w[:, 0] * (qa @ ia[0]) + w[:, 1] * (qm @ im[0])
    assert torch.allclose(s[:, 0], expected, atol=1e-6)
    # Metadata mid-fusion changes the pooled audio token (it attends to the metadata token).
    with torch.no_grad():
        other = head.items(seq, mask, torch.randn(3, 10), has)[0]
    assert not torch.allclose(other[0], ia[0])
    assert torch.allclose(other[1], ia[1], atol=1e-6)  # masked metadata token: no influence


def test_runtime_api_shapes_order_and_fusion():
    model = build_tiny_model(seed=0)
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (44100, 300, 2 * 44100, 0)]
    a = model.embed_audio(waves)
    assert a.shape == (4, model.dim) and a.dtype == np.float32
    assert np.allclose(model.embed_audio(waves[::-1])[::-1], a, atol=1e-5)
    assert np.allclose(model.embed_audio([waves[2]])[0], a[2], atol=1e-5)  # batching-independent
    m = model.embed_metadata(["wooden door slam", "", "  -- "])
    assert m.dtype == np.float32 and m[0].any() and not m[1:].any()
    q = model.embed_query(["door", "heavy wind"])
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    fused = model.fuse(a[:3], m)
    assert np.allclose(fused[1], a[1] / np.linalg.norm(a[1]), atol=1e-6)
    assert np.allclose(fused[0], (a[0] + m[0]) / np.linalg.norm(a[0] + m[0]), atol=1e-6)
    assert model.sample_rate == 44100 and model.fusion == "late"


def test_tiny_model_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = build_tiny_model(0), build_tiny_model(0), build_tiny_model(1)
    assert torch.rand(1).item() == before.item()
    assert a.model_id == b.model_id != c.model_id
