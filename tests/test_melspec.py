"""Mel filterbanks and the mel front end against references computed independently of our code:
literal triangle values worked out by hand for tiny configs, and plain-numpy loop versions of
librosa's and Kaldi's published formulas (plus librosa itself when it happens to be installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from soundsearch.model.melspec import (
    MelSpectrogram,
    hz_to_mel,
    kaldi_mel_banks,
    mel_filterbank,
    mel_to_hz,
    stft_frames,
)


def ref_librosa_mel(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    """librosa.filters.mel written out as loops over bands and bins."""
    def to_mel(f):
        if htk:
            return 2595.0 * math.log10(1.0 + f / 700.0)
        return f / (200.0 / 3) if f < 1000 else 15.0 + math.log(f / 1000.0) / (math.log(6.4) / 27.0)

    def to_hz(m):
        if htk:
            return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
        return m * (200.0 / 3) if m < 15.0 else 1000.0 * math.exp((m - 15.0) * math.log(6.4) / 27.0)

    lo, hi = to_mel(fmin), to_mel(fmax)
    edges = [to_hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    bins = [k * sr / n_fft for k in range(n_fft // 2 + 1)]
    out = np.zeros((n_mels, len(bins)))
    for b in range(n_mels):
        left, center, right = edges[b], edges[b + 1], edges[b + 2]
        for k, f in enumerate(bins):
            out[b, k] = max(0.0, min((f - left) / (center - left), (right - f) / (right - center)))
        if norm == "slaney":
            out[b] *= 2.0 / (right - left)
        elif norm == 1 and out[b].sum() > 0:
            out[b] /= out[b].sum()
    return out


def ref_kaldi_banks(n_mels, n_fft, sr, fmin, fmax):
    """Kaldi's MelBanks (no VTLN): triangles on the 1127·ln(1 + f/700) scale, Nyquist bin empty."""
    def mel(f):
        return 1127.0 * math.log(1.0 + f / 700.0)

    high = fmax if fmax > 0 else sr / 2 + fmax
    lo, delta = mel(fmin), (mel(high) - mel(fmin)) / (n_mels + 1)
    out = np.zeros((n_mels, n_fft // 2 + 1))
    for b in range(n_mels):
        left, center, right = lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta
        for k in range(n_fft // 2):
            m = mel(k * sr / n_fft)
            if left < m < right:
                out[b, k] = (m - left) / (center - left) if m <= center else (right - m) / (right - center)
    return out


def test_scales_at_known_points():
    assert float(hz_to_mel(torch.tensor(1000.0), htk=False)) == pytest.approx(15.0)
    assert float(hz_to_mel(torch.tensor(6400.0), htk=False)) == pytest.approx(42.0)  # 15 + 27 log steps
    assert float(hz_to_mel(torch.tensor(1000.0), htk=True)) == pytest.approx(1000.0, abs=0.1)
    freqs = torch.tensor([0.0, 300.0, 999.0, 1000.0, 5000.0, 20000.0])
    for htk in (True, False):
        assert torch.allclose(mel_to_hz(hz_to_mel(freqs, htk), htk), freqs.double(), atol=1e-6)


def test_htk_triangles_by_hand():
    # sr 8 kHz, 16-point FFT: bins every 500 Hz. Two HTK bands over 0–4 kHz have edges at mel
    # 0, 715.4, 1430.7, 2146.1 = 0, 620.58, 1791.33, 4000 Hz; band 0 at 500 Hz = 500 / 620.58.
    fb = mel_filterbank(8000, 16, 2, 0.0, 4000.0, htk=True, norm=None).numpy()
    assert fb.shape == (2, 9)
    np.testing.assert_allclose(fb[0], [0, 0.805698, 0.675917, 0.248840, 0, 0, 0, 0, 0], atol=1e-5)
    np.testing.assert_allclose(fb[1], [0, 0, 0.324083, 0.751160, 0.905522, 0.679142, 0.452761, 0.226381, 0],
                               atol=1e-5)


def test_kaldi_triangles_by_hand():
    # Same grid; Kaldi bands are triangles in mel (edges 0, 715.36, 1430.72, 2146.08 on 1127 ln(1 + f/700)).
    fb = kaldi_mel_banks(2, 16, 8000, 0.0, 4000.0).numpy()
    assert fb.shape == (2, 9)
    np.testing.assert_allclose(fb[0], [0, 0.849153, 0.602113, 0.195920, 0, 0, 0, 0, 0], atol=1e-5)
    np.testing.assert_allclose(fb[1], [0, 0, 0.397887, 0.804080, 0.873280, 0.605615, 0.376891, 0.177202, 0],
                               atol=1e-5)


@pytest.mark.parametrize("htk", [True, False])
@pytest.mark.parametrize("norm", [None, "slaney", 1])
def test_librosa_formula(htk, norm):
    ours = mel_filterbank(22050, 512, 24, 30.0, 10000.0, htk=htk, norm=norm).numpy()
    ref = ref_librosa_mel(22050, 512, 24, 30.0, 10000.0, htk, norm)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


def test_l1_norm_rows_sum_to_one_as_aisfx_uses():
    fb = mel_filterbank(44100, 2048, 96, 0.0, 22050.0, htk=True, norm=1)
    assert torch.allclose(fb.sum(1), torch.ones(96), atol=1e-5)


@pytest.mark.parametrize("fmax", [15000.0, -500.0])
def test_kaldi_formula(fmax):
    ours = kaldi_mel_banks(128, 1024, 32000, 0.0, fmax).numpy()
    np.testing.assert_allclose(ours, ref_kaldi_banks(128, 1024, 32000, 0.0, fmax), atol=1e-6)
    assert not ours[:, -1].any()


def test_against_librosa_when_installed():
    librosa = pytest.importorskip("librosa")
    for htk, norm in [(True, 1.0), (False, "slaney")]:
        ref = librosa.filters.mel(sr=44100, n_fft=2048, n_mels=96, fmin=0.0, fmax=22050.0, htk=htk, norm=norm)
        ours = mel_filterbank(44100, 2048, 96, 0.0, 22050.0, htk=htk, norm=norm).numpy()
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6)


def test_mel_spectrogram_matches_numpy_stft():
    sr, n_fft, hop, win = 8000, 64, 16, 48
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200).astype(np.float32)
    fb = mel_filterbank(sr, n_fft, 6, htk=True, norm=None)
    front = MelSpectrogram(fb, n_fft, hop, win, periodic_window=False, pad_mode="reflect")
    ours = front(torch.from_numpy(x)[None])[0]
    # numpy: reflect-pad n_fft/2, symmetric Hann of 48 centred in 64, |rfft|² per frame.
    w = np.zeros(n_fft)
    w[8:56] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / (win - 1))
    padded = np.pad(x.astype(np.float64), n_fft // 2, mode="reflect")
    frames = [padded[t * hop:t * hop + n_fft] * w for t in range(1 + len(x) // hop)]
    power = np.abs(np.fft.rfft(np.stack(frames), axis=1)) ** 2
    ref = fb.double().numpy() @ power.T
    assert ours.shape == ref.shape == (6, int(stft_frames(torch.tensor(200), hop)))
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-4, atol=1e-4)


def test_tone_lands_in_its_band():
    sr = 16000
    t = torch.arange(sr) / sr
    fb = mel_filterbank(sr, 512, 40, htk=False)
    mel = MelSpectrogram(fb, 512, 160)(torch.sin(2 * torch.pi * 1000 * t)[None])[0]
    top = float(hz_to_mel(torch.tensor(8000.0)))
    centers = mel_to_hz(torch.linspace(0.0, top, 42))[1:-1]
    assert abs(float(centers[mel.mean(1).argmax()]) - 1000) < 150
