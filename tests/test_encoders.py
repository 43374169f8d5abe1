"""Encoder backends: aisfx with its real shipped weights, EfficientAT random-init, text encoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from soundsearch.model.device import default_device
from soundsearch.model.encoders import (
    AUDIO_ENCODERS,
    TEXT_ENCODERS,
    aisfx,
    build_audio_encoder,
    build_text_encoder,
    efficientat,
)
from soundsearch.model.encoders.text import preprocess
from soundsearch.model.errors import ModelError

SR = 44100


def clip(seconds: float, sr: int = SR, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 330 * t) * np.exp(-2 * (t % 1.0)) + 0.02 * rng.standard_normal(len(t))
    return torch.from_numpy(x.astype(np.float32))


def batch(*clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(c) for c in clips])
    wave = torch.zeros(len(clips), int(lengths.max()))
    for i, c in enumerate(clips):
        wave[i, :len(c)] = c
    return wave, lengths


@pytest.fixture(scope="module")
def aisfx_encoder():
    return build_audio_encoder("aisfx", {})


# --- aisfx ---------------------------------------------------------------------------------------

def test_block_starts():
    assert aisfx.block_starts(30, 100, 100) == [0]  # shorter than a block: one padded block
    assert aisfx.block_starts(100, 100, 100) == [0]
    assert aisfx.block_starts(250, 100, 100) == [0, 100, 150]  # tail block aligned to the end
    assert aisfx.block_starts(250, 100, 100, "pad") == [0, 100, 200]
    assert aisfx.block_starts(250, 100, 50, "drop") == [0, 50, 100, 150]


def test_block_count_as_the_package_when_dropping_partial_blocks():
    blocking = pytest.importorskip("aisfx.preprocessing").blocking
    for frames in (40, 100, 149, 150, 151, 388):
        ref = blocking(np.zeros((frames, 96)), block_size=100, hop_size=50, drop_partial_block=True)
        assert len(aisfx.block_starts(frames, 100, 50, "drop")) == len(ref)


def test_short_clip_gives_one_block(aisfx_encoder):
    with torch.inference_mode():
        seq, mask = aisfx_encoder(*batch(clip(0.3)))
    assert seq.shape == (1, 1, 512) and mask.tolist() == [[True]]
    assert torch.isfinite(seq).all() and seq.abs().sum() > 0


def test_long_and_short_clips_batched(aisfx_encoder):
    long, short = clip(5.0), clip(1.0, seed=1)
    with torch.inference_mode():
        seq, mask = aisfx_encoder(*batch(long, short))
        alone, _ = aisfx_encoder(*batch(long))
    # 5 s = 216 frames: blocks at 0, 100 and one aligned to the end (116).
    assert seq.shape == (2, 3, 512)
    assert mask.sum(1).tolist() == [3, 1]
    assert not seq[1, 1:].any()  # padding steps are zero
    torch.testing.assert_close(seq[0], alone[0], atol=1e-4, rtol=1e-4)  # batching changes nothing


def test_peak_normalisation_makes_gain_irrelevant(aisfx_encoder):
    x = clip(2.0)
    with torch.inference_mode():
        loud, _ = aisfx_encoder(*batch(x))
        quiet, _ = aisfx_encoder(*batch(0.05 * x))
    torch.testing.assert_close(loud, quiet, atol=1e-3, rtol=1e-3)


def reference_frontend(y: np.ndarray) -> np.ndarray:
    """The package's librosa front end written in numpy: [frames, 96]."""
    y = y.astype(np.float64) / np.abs(y).max()
    n_fft, hop = 2048, 1024
    padded = np.pad(y, n_fft // 2)  # librosa ≥ 0.9 centres with zeros
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    frames = np.stack([padded[t * hop:t * hop + n_fft] * window for t in range(1 + len(y) // hop)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    edges = 700 * (10 ** (np.linspace(0, mel(22050.0), 98) / 2595) - 1)
    freqs = np.linspace(0, 22050, n_fft // 2 + 1)
    lower = (freqs[None] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    upper = (edges[2:, None] - freqs[None]) / (edges[2:, None] - edges[1:-1, None])
    fb = np.maximum(0, np.minimum(lower, upper))
    fb /= fb.sum(1, keepdims=True)  # norm=1
    return np.log10(power @ fb.T * 1e4 + 1) / 9.457798957824707


def test_frontend_matches_numpy_reference(aisfx_encoder):
    y = clip(1.5)
    mel, n = aisfx_encoder.features(*batch(y))
    ref = reference_frontend(y.numpy())
    assert int(n[0]) == len(ref) == mel.shape[2]
    np.testing.assert_allclose(mel[0].T.numpy(), ref, atol=2e-5)


def test_frontend_matches_librosa(aisfx_encoder):
    librosa = pytest.importorskip("librosa")
    y = clip(1.5).numpy()
    spec = librosa.feature.melspectrogram(y=y / np.abs(y).max(), sr=SR, n_mels=96, norm=1.0, fmin=0.0,
                                          fmax=22050.0, htk=True, power=2.0, hop_length=1024, win_length=2048)
    ref = np.log10(spec * 10000.0 + 1).T / 9.457798957824707
    mel, _ = aisfx_encoder.features(*batch(torch.from_numpy(y)))
    np.testing.assert_allclose(mel[0].T.numpy(), ref, atol=2e-5)


def test_network_matches_the_package(aisfx_encoder):
    cnn2d = pytest.importorskip("aisfx.models.cnn2d")
    ref = cnn2d.EmbeddingNet("max", 3, 1, 64)
    ref.load_state_dict(aisfx.load_state_dict(aisfx.package_weights()))
    blocks = torch.rand(2, 100, 96) * 0.6
    with torch.inference_mode():
        seq, mask = aisfx_encoder.encode_features(blocks.transpose(1, 2), torch.tensor([100, 100]))
        torch.testing.assert_close(seq[:, 0], ref.eval()(blocks), atol=1e-4, rtol=1e-4)


def test_missing_aisfx_is_a_clear_error(monkeypatch):
    def missing(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(aisfx.importlib.resources, "files", missing)
    with pytest.raises(ModelError, match="aisfx"):
        build_audio_encoder("aisfx", {})


# --- EfficientAT ---------------------------------------------------------------------------------

# Keys and shapes of the official checkpoints (EfficientAT models/mn: torchvision-style
# ConvNormActivation = Sequential(conv, bn, act); InvertedResidual.block = [expand], depthwise,
# [ConcurrentSEBlock.conc_se_layers.0.fc1/fc2], project; "mlp" head = classifier.2 and .5).
OFFICIAL = {
    "mn10": {"features.0.0.weight": (16, 1, 3, 3), "features.1.block.0.0.weight": (16, 1, 3, 3),
             "features.1.block.1.0.weight": (16, 16, 1, 1), "features.2.block.0.0.weight": (64, 16, 1, 1),
             "features.4.block.2.conc_se_layers.0.fc1.weight": (24, 72),
             "features.13.block.1.0.weight": (672, 1, 5, 5), "features.15.block.3.1.bias": (160,),
             "features.16.0.weight": (960, 160, 1, 1), "features.16.1.running_var": (960,),
             "classifier.2.weight": (1280, 960), "classifier.5.weight": (527, 1280)},
    "mn40_as_ext": {"features.0.0.weight": (64, 1, 3, 3), "features.2.block.0.0.weight": (256, 64, 1, 1),
                    "features.4.block.2.conc_se_layers.0.fc1.weight": (72, 288),
                    "features.13.block.1.0.weight": (2688, 1, 5, 5),
                    "features.16.0.weight": (3840, 640, 1, 1),
                    "classifier.2.weight": (5120, 3840), "classifier.5.weight": (527, 5120)},
}
PARAMS = {"mn10": 4_876_831, "mn40_as_ext": 68_427_303}  # EfficientAT's published 4.88 M / 68.43 M


@pytest.mark.parametrize("name", ["mn10", "mn40_as_ext"])
def test_efficientat_state_dict_has_official_keys(name):
    with torch.device("meta"):  # shapes only: no memory, no init cost
        net = efficientat.MobileNet(efficientat.width_of(name))
    state = net.state_dict()
    assert len(state) == 312
    assert sum(k.endswith("num_batches_tracked") for k in state) == 46  # 45 convs + the stem
    assert sum("conc_se_layers.0." in k for k in state) == 32  # 8 SE blocks × fc1/fc2 × weight/bias
    for key, shape in OFFICIAL[name].items():
        assert tuple(state[key].shape) == shape, key
    assert sum(p.numel() for p in net.parameters()) == PARAMS[name]
    assert not any(".fc." in k or k.startswith("net.") for k in state)


@pytest.fixture(scope="module")
def mn04():
    return build_audio_encoder("efficientat", {"name": "mn04", "pretrained": False})


def test_efficientat_shapes_masks_and_logits(mn04):
    wave, lengths = batch(clip(3.0, 32000), clip(0.5, 32000), clip(0.004, 32000))
    with torch.inference_mode():
        mel, mel_lengths = mn04.features(wave, lengths)
        seq, mask, logits = mn04.forward_with_logits(wave, lengths)
    assert mel.shape == (3, 128, 300) and mel_lengths.tolist() == [300, 50, 1]
    assert seq.shape == (3, 10, 384) and mn04.dim == 384
    # 300 frames → 150 → 75 → 38 → 19 → 10; 50 → 2; 1 → 1
    assert mask.sum(1).tolist() == [10, 2, 1]
    assert logits.shape == (3, 527) and torch.isfinite(logits).all()
    assert len(efficientat.labels()) == 527 and efficientat.labels()[0] == "Speech"


def test_efficientat_weights_from_models_dir(home, mn04):
    folder = home / "data" / "models" / "efficientat"
    with pytest.raises(ModelError, match="efficientat"):
        build_audio_encoder("efficientat", {"name": "mn04_as"})
    folder.mkdir(parents=True)
    torch.save(mn04.net.state_dict(), folder / "mn04_as_mAP_432.pt")  # an official file name
    loaded = build_audio_encoder("efficientat", {"name": "mn04_as"})
    wave, lengths = batch(clip(1.0, 32000))
    with torch.inference_mode():
        torch.testing.assert_close(loaded(wave, lengths)[0], mn04(wave, lengths)[0])
    with pytest.raises(ModelError, match="does not fit"):
        build_audio_encoder("efficientat", {"name": "mn10"}, weights=folder / "mn04_as_mAP_432.pt")


# --- text ----------------------------------------------------------------------------------------

def test_preprocess():
    assert preprocess("Heavy DOOR-slam, (reverb)!!  dog_bark.wav") == "heavy door slam reverb dog bark wav"
    assert preprocess("Café  Ambience\n") == "café ambience"
    assert preprocess("!!!") == ""


@pytest.fixture(scope="module")
def bert_pair():
    return (build_text_encoder("random-bert", {"pooling": "cls", "seed": 3}),
            build_text_encoder("random-bert", {"pooling": "mean", "seed": 3}))


def test_tokenize_lowercases_and_caps_at_32_tokens(bert_pair):
    enc = bert_pair[0]
    tok = enc.tokenize(["A" * 5, "word " * 100])
    assert tok["input_ids"].shape == (2, 32)
    assert enc.tokenizer.convert_ids_to_tokens(tok["input_ids"][0, :3].tolist()) == ["[CLS]", "a", "##a"]
    assert tok["attention_mask"][0].sum() == 7 and tok["attention_mask"][1].sum() == 32


def test_cls_and_mean_pooling(bert_pair):
    cls_enc, mean_enc = bert_pair
    texts = ["rain on a tin roof", "door"]
    tok = cls_enc.tokenize(texts)
    with torch.inference_mode():
        hidden = cls_enc.model(**tok).last_hidden_state
        cls, mean = cls_enc(**tok), mean_enc(**tok)
        alone = mean_enc(**mean_enc.tokenize(["door"]))
    assert cls.shape == mean.shape == (2, 32) and cls_enc.dim == 32
    torch.testing.assert_close(cls, hidden[:, 0])
    n = int(tok["attention_mask"][1].sum())
    torch.testing.assert_close(mean[1], hidden[1, :n].mean(0))
    torch.testing.assert_close(mean[1], alone[0], atol=1e-5, rtol=1e-5)  # padding does not leak in


def test_any_local_folder_with_declared_pooling(tmp_path, bert_pair):
    enc = bert_pair[0]
    enc.model.save_pretrained(tmp_path)
    enc.tokenizer.save_pretrained(tmp_path)
    plain = build_text_encoder(str(tmp_path), {})
    assert plain.pooling == "cls"  # a plain BERT folder: CLS, as the paper
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    st_folder = build_text_encoder(str(tmp_path), {})
    assert st_folder.pooling == "mean"  # a sentence-transformers folder says so
    tok = enc.tokenize(["metal clang"])
    with torch.inference_mode():
        torch.testing.assert_close(plain(**tok), enc(**tok))


def test_minilm_from_the_wheel():
    enc = build_text_encoder("minilm", {})
    assert enc.dim == 384 and enc.pooling == "mean"
    texts = ["Glass shatter, close!", "footsteps on gravel"]
    with torch.inference_mode():
        ours = torch.nn.functional.normalize(enc(**enc.tokenize(texts)), dim=-1).numpy()
    st = pytest.importorskip("sentence_transformers")
    from soundsearch.model.encoders.text import minilm_path

    ref = st.SentenceTransformer(str(minilm_path()), device="cpu").encode([preprocess(t) for t in texts],
                                                                          normalize_embeddings=True)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_unknown_models_are_model_errors():
    with pytest.raises(ModelError):
        build_audio_encoder("no-such-encoder", {})
    with pytest.raises(ModelError):
        build_text_encoder("no-such-model-anywhere", {})
    assert {"aisfx", "efficientat"} <= set(AUDIO_ENCODERS)
    assert {"minilm", "transformers", "random-bert"} <= set(TEXT_ENCODERS)


# --- device --------------------------------------------------------------------------------------

def test_default_device(monkeypatch):
    monkeypatch.delenv("SOUNDSEARCH_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert default_device() == "cpu" and default_device("auto") == "cpu"
    assert default_device("cuda") == "cpu"  # unavailable: falls back instead of failing
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == "cuda" and default_device("cpu") == "cpu"
    monkeypatch.setenv("SOUNDSEARCH_DEVICE", "cpu")
    assert default_device() == "cpu"
    with pytest.raises(ValueError):
        default_device("tpu")
