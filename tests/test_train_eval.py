"""Training lowers the loss on a tiny synthetic set; the metrics match hand-computed rankings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from soundsearch.jobs import run
from soundsearch.model.checkpoint import (
    EncoderSpec,
    ModelConfig,
    collect_state,
    load_checkpoint,
    save_checkpoint,
    split_state,
)
from soundsearch.model.datasets import Item, captions_from_fields, content_words
from soundsearch.model.evaluate import (
    average_precision,
    format_table,
    multi_positive_metrics,
    positive_ranks,
    single_positive_metrics,
)
from soundsearch.model.featureset import FeatureSet, score_matrix
from soundsearch.model.hybrid import HybridConfig, HybridModel, PoolConfig
from soundsearch.model.scoring import evaluate_library, label_queries
from soundsearch.model.train import TrainConfig, lr_at, nt_xent, train_head


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread (and do not fight the rest of the suite for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- metrics on rankings worked out by hand ----------------------------------------------------


def test_single_positive_metrics_by_hand():
    # Query 0: positive (item 2) ranked 1st; query 1: positive (item 0) ranked 3rd; query 2:
    # positive ranked 12th (outside the top 10).
    scores = np.zeros((3, 12))
    scores[0] = np.arange(12)[::-1] * 0.0 + np.linspace(0, 1, 12)
    scores[0, 2] = 5.0
    scores[1] = np.linspace(1, 0, 12)  # item 0 best ... item 11 worst
    scores[1, 0] = scores[1, 2] - 0.01  # item 0 now below items 1 and 2 -> rank 3
    scores[2] = np.linspace(1, 0, 12)
    scores[2, 5] = -1.0  # rank 12
    positives = np.array([2, 0, 5])
    assert positive_ranks(scores, positives).tolist() == [1, 3, 12]
    m = single_positive_metrics(scores, positives)
    assert m["R@1"] == pytest.approx(1 / 3)
    assert m["R@5"] == pytest.approx(2 / 3)
    assert m["R@10"] == pytest.approx(2 / 3)
    assert m["mAP@10"] == pytest.approx((1 + 1 / 3 + 0) / 3)


def test_ties_count_against_the_positive():
    assert positive_ranks(np.zeros((1, 5)), np.array([0])).tolist() == [5]


def test_average_precision_by_hand():
    # Relevant at ranks 1, 3 and 6 of 3 relevant: (1/1 + 2/3 + 3/6) / 3.
    rel = np.array([1, 0, 1, 0, 0, 1, 0], bool)
    assert average_precision(rel, 3) == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    # Cut at 5: only ranks 1 and 3 count, normalised by min(3, 5) = 3.
    assert average_precision(rel, 3, k=5) == pytest.approx((1 + 2 / 3) / 3)
    # A relevant item that never shows up in the ranking still counts in the denominator.
    assert average_precision(np.array([1, 0], bool), 2) == pytest.approx(0.5)


def test_multi_positive_metrics_by_hand():
    scores = np.array([[0.9, 0.8, 0.1, 0.5], [0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 0.0, 0.0]])
    relevant = np.array([[1, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]], bool)
    m = multi_positive_metrics(scores, relevant)
    # q0 ranking 0,1,3,2 -> relevant at 1 and 3: (1 + 2/3)/2; q1 ranking 3,2,1,0 -> at 4: 1/4.
    assert m["queries"] == 2  # q2 has no relevant item and is skipped
    assert m["MAP"] == pytest.approx(((1 + 2 / 3) / 2 + 0.25) / 2)
    assert m["P@1"] == pytest.approx(0.5)


def test_table_has_paper_shape():
    text = format_table({"audio-only": {"mAP@10": 0.1, "R@1": 0.05},
                         "late fusion": {"mAP@10": 0.2, "R@1": 0.1}}, title="Table I")
    lines = text.splitlines()
    assert lines[0] == "Table I" and "mAP@10" in lines[1] and "R@1" in lines[1]
    assert lines[3].startswith("audio-only") and "0.100" in lines[3] and "0.200" in lines[4]


# -- captions for a user's library --------------------------------------------------------------


def test_library_captions_are_not_the_metadata_text():
    fields = {"name_words": ["default gravel footstep"], "folder_words": ["sounds default mods minetest"]}
    caps = captions_from_fields(fields, drop={"minetest"})
    assert caps[0] == "gravel footstep"
    assert all("minetest" not in c and "default" not in c for c in caps)
    assert content_words("Wood_Door-Slam 03 sfx") == ["wood", "door", "slam"]


# -- training ------------------------------------------------------------------------------------


def synthetic_set(n_classes=6, per_class=8, audio_dim=12, text_dim=10, seed=0) -> FeatureSet:
    """Items whose frames are noisy copies of a class prototype; captions name the class."""
    rng = np.random.default_rng(seed)
    protos = rng.standard_normal((n_classes, audio_dim))
    text = rng.standard_normal((n_classes, text_dim)).astype(np.float32)
    items, seqs, caps = [], [], []
    for c in range(n_classes):
        for k in range(per_class):
            t = int(rng.integers(1, 5))
            seqs.append((protos[c] + 0.5 * rng.standard_normal((t, audio_dim))).astype(np.float16))
            items.append(Item(Path(f"/x/{c}_{k}.wav"), [f"class {c}"], f"tag {c}" if k % 2 else "", "g",
                              (f"class {c}",)))
            caps.append([c])
    has = np.array([bool(it.metadata) for it in items])
    meta = np.where(has[:, None], text[[c[0] for c in caps]] + 0.1, 0).astype(np.float32)
    return FeatureSet(items, seqs, meta, has, [f"class {c}" for c in range(n_classes)], text, caps)


@pytest.mark.parametrize("fusion", ["late", "mid"])
def test_short_training_lowers_loss_and_learns(fusion):
    fs = synthetic_set()
    torch.manual_seed(0)
    head = HybridModel(HybridConfig(audio_dim=12, text_dim=10, dim=8, fusion=fusion,
                                    pool=PoolConfig(layers=1, heads=2), dropout=0.0))
    before = evaluate_library(head, fs)
    cfg = TrainConfig(epochs=12, batch_size=16, lr=3e-3, warmup_epochs=1, meta_dropout=0.5)
    result = run(train_head(head, fs, fs, cfg))
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.6 * losses[0]
    after = evaluate_library(result.head, fs)
    assert after["MAP"] > before["MAP"] + 0.2
    # Metadata dropout taught the audio branch: untagged items are still found.
    untagged = [i for i, it in enumerate(fs.items) if not it.metadata]
    labels = [f"class {c}" for c in range(6)]
    rel = np.array([[fs.items[i].labels[0] == lab for i in untagged] for lab in labels])
    scores = score_matrix(result.head, fs.subset(untagged), fs.caption_vecs)
    assert multi_positive_metrics(scores, rel)["MAP"] > 0.6


def test_finetune_end_to_end_on_real_files(tmp_path, make_wav):
    """Encoders in the loop (tiny random-init ones here), SpecAugment on the mel input."""
    from soundsearch.model import build_tiny_model
    from soundsearch.model.finetune import finetune, spec_augment

    items = []
    for c, freq in enumerate((220.0, 880.0, 3000.0)):
        for k in range(4):
            path = make_wav(tmp_path / f"c{c}_{k}.wav", seconds=0.3 + 0.1 * k, freq=freq, noise=0.05)
            items.append(Item(path, [f"tone {c}"], f"tag {c}" if k % 2 else "", "g", (f"tone {c}",)))
    model = build_tiny_model(seed=0)
    before = {k: v.clone() for k, v in model.audio_encoder.state_dict().items()}
    cfg = TrainConfig(epochs=8, batch_size=6, lr=1e-2, warmup_epochs=1, meta_dropout=0.5)
    result = run(finetune(model, items, cfg, seconds=1.0))
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    after = model.audio_encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the encoder was trained too
    mel = torch.ones(2, 8, 20)
    masked = spec_augment(mel, torch.tensor([20, 10]), np.random.default_rng(0), time_width=0.3)
    assert masked.shape == mel.shape and (masked == 0).any() and (masked == 1).any()


def test_lr_schedule_warmup_then_cosine():
    cfg = TrainConfig(epochs=10, lr=1e-3, lr_end=1e-7, warmup_epochs=1)
    lrs = [lr_at(s, 10, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(1e-7, abs=1e-6)


def test_nt_xent_is_symmetric_and_spreads_shared_captions():
    s = torch.eye(3) * 0.5
    loss = nt_xent(s, torch.eye(3), 0.05)
    assert loss.item() == pytest.approx(nt_xent(s.T, torch.eye(3), 0.05).item())
    # Two items with the same caption are both positives: ranking the "other" one first is no error.
    s2 = torch.tensor([[0.5, 1.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 1.0]])
    shared = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert nt_xent(s2, shared, 0.05) < nt_xent(s2, torch.eye(3), 0.05)


def test_cli_train_and_eval_on_a_folder(home, tmp_path, make_wav, capsys):
    """`soundsearch train library DIR` then `soundsearch eval` on a tiny model and tiny real files."""
    from soundsearch.cli import main
    from soundsearch.model import build_tiny_model, load_model
    from soundsearch.model.checkpoint import collect_state, save_checkpoint

    tiny = build_tiny_model(seed=0)
    save_checkpoint(tmp_path / "base", tiny.config,
                    collect_state(tiny.head, tiny.audio_encoder, tiny.text_encoder))
    lib = tmp_path / "lib"
    for pack, names in {"pack_a": ["door_slam", "glass_break"], "pack_b": ["door_slam", "dog_bark"],
                        "pack_c": ["glass_break", "dog_bark"]}.items():
        for k, name in enumerate(names):
            for take in (1, 2):
                make_wav(lib / pack / f"{name}_{take}.wav", seconds=0.2, freq=200.0 * (k + 1) * take)
    rc = main(["train", "library", str(lib), "--base", str(tmp_path / "base"), "--out", str(tmp_path / "m"),
               "--epochs", "2", "--batch-size", "4", "--lr", "1e-3"])
    assert rc == 0
    model = load_model(tmp_path / "m")
    assert model.config.training["items"] > 0 and (tmp_path / "m" / "card.md").is_file()
    assert list((home / "cache" / "features").iterdir())  # encoder outputs cached under SOUNDSEARCH_HOME
    capsys.readouterr()
    assert main(["eval", "library", str(lib), "--model", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "MAP" in out and "audio" in out and "late" in out


def test_featureset_skips_files_that_vanished_and_caches_the_rest(home, tmp_path, make_wav):
    """A dataset listed, then a file deleted before encoding (a user's library changes under a
    running `soundsearch train`): that item is dropped with a warning, the others are encoded."""
    from soundsearch.model import build_tiny_model
    from soundsearch.model.featureset import build_featureset

    items = [Item(make_wav(tmp_path / f"s{k}.wav", seconds=0.3, freq=300.0 * (k + 1)), [f"tone {k}"], "", "g")
             for k in range(3)]
    items[1].audio.unlink()
    model = build_tiny_model(seed=0)
    fs = build_featureset(model, items)
    assert [it.audio.name for it in fs.items] == ["s0.wav", "s2.wav"]
    cached = build_featureset(model, items, only_cached=True)  # from the cache, still without s1
    assert [it.audio.name for it in cached.items] == ["s0.wav", "s2.wav"]


def test_recipe_split_keeps_held_out_sounds_out_of_training(tmp_path, make_wav):
    """The default model's split is by package, and a sound that two packages ship (the same free
    sample in two games) never reaches training when one of them is held out."""
    from soundsearch.model.recipe import Recipe, split

    def item(package: str, name: str, freq: float) -> Item:
        return Item(make_wav(tmp_path / package / name, seconds=0.2, freq=freq), [name], name, package)

    items = [item("heldgame", "door.wav", 300.0), item("heldgame", "bell.wav", 900.0),
             item("traingame", "door.wav", 300.0),  # byte-identical to the held-out door
             item("traingame", "door_slam.wav", 310.0), item("valgame", "bell.wav", 900.0),
             item("valgame", "wind.wav", 120.0)]
    missing = Item(tmp_path / "traingame" / "gone.wav", ["gone"], "gone", "traingame")
    train, val, held = split(items + [missing], Recipe(library=tmp_path, heldout=("heldgame",),
                                                       validation=("valgame",)))
    assert [(it.group, it.audio.name) for it in held] == [("heldgame", "door.wav"), ("heldgame", "bell.wav")]
    # an unreadable file is kept here; encoding reports it
    assert [it.audio.name for it in train] == ["door_slam.wav", "gone.wav"]
    assert [it.audio.name for it in val] == ["wind.wav"]


def test_averaged_heads_give_the_mean_audio_vector():
    """Seed ensembles ship as one head: its audio vector is exactly the mean of the members'."""
    from soundsearch.model.heads import average_heads

    cfg = HybridConfig(audio_dim=12, text_dim=8, dim=8, fusion="late", text_init="identity",
                       pool=PoolConfig(layers=0, width=6, input_norm=True))
    heads = []
    for seed in range(3):
        torch.manual_seed(seed)
        h = HybridModel(cfg)
        with torch.no_grad():  # a trained LayerNorm is not the identity
            h.pool.in_proj[0].weight.uniform_(0.5, 1.5)
            h.pool.in_proj[0].bias.normal_()
        heads.append(h.eval())
    seq = torch.randn(4, 5, 12)
    mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2, [1] + [0] * 4, [1] * 5]).bool()
    avg = average_heads(heads)
    with torch.inference_mode():
        want = torch.stack([h.embed_audio(seq, mask) for h in heads]).mean(0)
        got = avg.embed_audio(seq, mask)
        assert torch.allclose(got, want, atol=1e-5)
        assert not torch.allclose(got, heads[0].embed_audio(seq, mask), atol=1e-3)
        q = torch.randn(2, 8)
        assert torch.allclose(avg.embed_query(q), heads[0].embed_query(q))
    with pytest.raises(ValueError):
        average_heads([HybridModel(HybridConfig(audio_dim=12, text_dim=8, dim=8))])


def test_centred_queries_remove_the_mean_caption_and_survive_a_checkpoint(tmp_path):
    """center_queries: a query equal to the mean training caption projects to zero, every query
    moves by the same vector, and the shift is stored in the head (so the runtime applies it)."""
    from soundsearch.model.heads import center_queries

    cfg = HybridConfig(audio_dim=12, text_dim=8, dim=8, fusion="late", text_init="identity",
                       pool=PoolConfig(layers=0, input_norm=True))
    head = HybridModel(cfg).eval()
    captions = np.random.default_rng(0).normal(1.0, 0.5, (20, 8)).astype(np.float32)
    q = torch.from_numpy(captions[:3])
    with torch.inference_mode():
        before = head.proj_query(q)
    center_queries(head, captions)
    with torch.inference_mode():
        assert torch.allclose(head.proj_query(torch.from_numpy(captions.mean(0, keepdims=True))),
                              torch.zeros(1, 8), atol=1e-5)
        after = head.proj_query(q)
        assert torch.allclose(before - after, torch.from_numpy(captions.mean(0)).expand(3, 8), atol=1e-5)
    save_checkpoint(tmp_path / "m", ModelConfig(EncoderSpec("tiny-audio"), EncoderSpec("tiny-text"), cfg),
                    collect_state(head))
    restored = HybridModel(cfg)
    restored.load_state_dict(split_state(load_checkpoint(tmp_path / "m")[1], "head"))
    restored.eval()
    with torch.inference_mode():
        assert torch.allclose(restored.embed_query(q), head.embed_query(q))
    with pytest.raises(ValueError):
        center_queries(HybridModel(HybridConfig(audio_dim=12, text_dim=8, dim=8, text_hidden=4)), captions)


def _memory_setup():
    """(synthetic set, the even items' indexes — the memory's —, the odd items, an untrained
    identity-text late head): the caption memory tests' setting."""
    fs = synthetic_set(audio_dim=12, text_dim=8, per_class=10)
    known = [i for i in range(len(fs)) if i % 2 == 0]
    unseen = fs.subset([i for i in range(len(fs)) if i % 2])
    torch.manual_seed(0)
    head = HybridModel(HybridConfig(audio_dim=12, text_dim=8, dim=8, fusion="late", text_init="identity",
                                    pool=PoolConfig(layers=0, input_norm=True))).eval()
    return fs, known, unseen, head


def test_caption_memory_lends_unseen_sounds_the_words_of_their_neighbours(tmp_path):
    """attach_memory: an untrained head (random audio map) ranks held-back sounds near random; with
    a memory of the other sounds' captions it finds them by their class words. The memory keeps
    the audio vector's norm, is stored in the checkpoint, is reduced to prototypes when asked, and
    training starts without it."""
    from soundsearch.model.featureset import pad
    from soundsearch.model.heads import average_heads
    from soundsearch.model.memory import MemoryConfig, attach_memory

    fs, known, unseen, head = _memory_setup()
    _, rel = label_queries(unseen)
    def audio_map(h):
        return multi_positive_metrics(score_matrix(h, unseen, unseen.caption_vecs, "audio"), rel)["MAP"]

    plain = audio_map(head)
    seq, mask = pad(unseen.seqs)
    with torch.inference_mode():
        plain_vecs = head.embed_audio(seq, mask)
    attach_memory(head, fs.subset(known), MemoryConfig(size=0, k=3))
    assert head.cfg.memory_size == len(known)
    assert audio_map(head) > max(0.85, plain + 0.3)
    with torch.inference_mode():
        recalled = head.embed_audio(seq, mask)
    assert torch.allclose(recalled.norm(dim=-1), plain_vecs.norm(dim=-1), rtol=1e-4)

    specs = EncoderSpec("tiny-audio"), EncoderSpec("tiny-text")
    save_checkpoint(tmp_path / "m", ModelConfig(*specs, head.cfg), collect_state(head))
    config, state, _ = load_checkpoint(tmp_path / "m")
    restored = HybridModel(config.head)
    restored.load_state_dict(split_state(state, "head"))
    with torch.inference_mode():
        assert torch.allclose(restored.eval().embed_audio(seq, mask), recalled, atol=1e-3)

    attach_memory(head, fs.subset(known), MemoryConfig(size=6, k=3))
    assert 1 <= head.cfg.memory_size <= 6
    norms = head.memory_values.float().norm(dim=-1)
    assert torch.allclose(norms, torch.ones(head.cfg.memory_size), atol=1e-3)
    with pytest.raises(ValueError):
        average_heads([head, head])
    result = run(train_head(head, fs, None, TrainConfig(epochs=1, batch_size=16)))
    assert result.head.cfg.memory_size == 0 and len(result.head.memory_keys) == 0
    mid = HybridModel(HybridConfig(audio_dim=12, text_dim=8, dim=8, fusion="mid"))
    with pytest.raises(ValueError):
        attach_memory(mid, fs.subset(known))


def test_query_recall_carries_words_to_the_sounds_captioned_with_them():
    """HybridModel.recall_query (audio-only search): without a memory the unit query is unchanged;
    with one, a query moves toward the audio keys whose captions are nearest to it, and unseen
    sounds are found better by their class words than with the plain query."""
    from soundsearch.model.memory import MemoryConfig, attach_memory

    fs, known, unseen, head = _memory_setup()
    q = torch.from_numpy(unseen.caption_vecs)
    with torch.inference_mode():
        assert torch.allclose(head.recall_query(q), torch.nn.functional.normalize(q, dim=-1))
    _, rel = label_queries(unseen)
    def audio_map(recall: bool) -> float:
        return multi_positive_metrics(score_matrix(head, unseen, unseen.caption_vecs, "audio",
                                                   recall=recall), rel)["MAP"]

    attach_memory(head, fs.subset(known), MemoryConfig(size=0, k=3))
    with torch.inference_mode():
        moved = head.recall_query(head.embed_query(q))
        keys = head.memory_keys.float()
        nearest = (head.embed_query(q) @ head.memory_values.float().T).argmax(dim=1)
        before = (head.embed_query(q) * keys[nearest]).sum(-1)
        after = (moved * keys[nearest]).sum(-1)
    assert torch.allclose(moved.norm(dim=-1), torch.ones(len(q)), atol=1e-4)
    assert bool((after > before).all())
    assert audio_map(recall=True) > audio_map(recall=False)
