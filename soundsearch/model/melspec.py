"""Mel filterbanks and a log-mel front end in plain torch.

torchaudio is not usable beside the CPU torch wheel here and librosa is not a run-time dependency
(it pulls in numba and scikit-learn), yet the pretrained encoders were trained on features from
those libraries, so the filterbanks below reproduce their formulas exactly:

- ``mel_filterbank``: librosa's ``filters.mel`` (HTK or Slaney mel scale, triangles in Hz, optional
  "slaney" area or L1/L2 row normalisation). aisfx used it with ``htk=True, norm=1``.
- ``kaldi_mel_banks``: ``torchaudio.compliance.kaldi.get_mel_banks`` without VTLN warping (triangles
  in the mel domain, Kaldi's ``1127 ln(1 + f/700)`` scale, no Nyquist bin), as EfficientAT uses it.

Banks are computed in float64 and stored as float32 buffers; tests compare them with references
computed independently.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

# Slaney's auditory-toolbox scale: linear below 1 kHz, logarithmic above.
_SLANEY_F_SP = 200.0 / 3
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
_SLANEY_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(freqs: Tensor, htk: bool = False) -> Tensor:
    freqs = torch.as_tensor(freqs, dtype=torch.float64)
    if htk:
        return 2595.0 * torch.log10(1.0 + freqs / 700.0)
    linear = freqs / _SLANEY_F_SP
    log = _SLANEY_MIN_LOG_MEL + torch.log(freqs.clamp_min(1e-12) / _SLANEY_MIN_LOG_HZ) / _SLANEY_LOGSTEP
    return torch.where(freqs >= _SLANEY_MIN_LOG_HZ, log, linear)


def mel_to_hz(mels: Tensor, htk: bool = False) -> Tensor:
    mels = torch.as_tensor(mels, dtype=torch.float64)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    linear = _SLANEY_F_SP * mels
    log = _SLANEY_MIN_LOG_HZ * torch.exp(_SLANEY_LOGSTEP * (mels - _SLANEY_MIN_LOG_MEL))
    return torch.where(mels >= _SLANEY_MIN_LOG_MEL, log, linear)


def mel_filterbank(sample_rate: float, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None, htk: bool = False,
                   norm: str | float | None = "slaney") -> Tensor:
    """librosa-compatible mel filterbank, ``[n_mels, n_fft // 2 + 1]`` float32.

    ``norm``: "slaney" divides each triangle by its width in Hz (constant energy per band); a
    number p scales each row to unit p-norm (aisfx used p = 1); None leaves peaks at 1.
    """
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    fft_freqs = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1, dtype=torch.float64)
    edges_mel = torch.linspace(float(hz_to_mel(torch.tensor(fmin), htk)),
                               float(hz_to_mel(torch.tensor(fmax), htk)), n_mels + 2, dtype=torch.float64)
    edges = mel_to_hz(edges_mel, htk)
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (fft_freqs[None, :] - lower) / (center - lower)
    falling = (upper - fft_freqs[None, :]) / (upper - center)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    if norm == "slaney":
        weights = weights * (2.0 / (upper - lower))
    elif norm is not None:
        p = float(norm)
        length = weights.abs().pow(p).sum(dim=1, keepdim=True).pow(1.0 / p)
        # As librosa: an all-zero (empty) band is left as it is rather than divided by zero.
        weights = weights / torch.where(length > 0, length, torch.ones_like(length))
    return weights.to(torch.float32)


def kaldi_mel_scale(freqs: Tensor) -> Tensor:
    return 1127.0 * torch.log1p(torch.as_tensor(freqs, dtype=torch.float64) / 700.0)


def kaldi_mel_banks(n_mels: int, n_fft: int, sample_rate: float, fmin: float = 20.0,
                    fmax: float = 0.0) -> Tensor:
    """Kaldi-style mel banks, ``[n_mels, n_fft // 2 + 1]`` float32 (the Nyquist column is zero).

    ``fmax <= 0`` counts down from Nyquist, as in Kaldi.
    """
    nyquist = 0.5 * sample_rate
    high = fmax + nyquist if fmax <= 0 else fmax
    bin_width = sample_rate / n_fft
    mel_low, mel_high = float(kaldi_mel_scale(torch.tensor(fmin))), float(kaldi_mel_scale(torch.tensor(high)))
    delta = (mel_high - mel_low) / (n_mels + 1)
    band = torch.arange(n_mels, dtype=torch.float64)[:, None]
    left, center, right = mel_low + band * delta, mel_low + (band + 1) * delta, mel_low + (band + 2) * delta
    mel = kaldi_mel_scale(bin_width * torch.arange(n_fft // 2, dtype=torch.float64))[None, :]
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return nn.functional.pad(banks, (0, 1)).to(torch.float32)


def stft_frames(lengths: Tensor, hop: int) -> Tensor:
    """Number of frames a centred STFT gives for signals of these lengths."""
    return torch.div(lengths, hop, rounding_mode="floor") + 1


class MelSpectrogram(nn.Module):
    """Power (or magnitude) mel spectrogram of a batch of waves ``[B, S]`` → ``[B, n_mels, T]``.

    The STFT is centred (frame t is centred on sample t·hop), as both librosa and EfficientAT do.
    ``pad_mode``: "constant" (librosa ≥ 0.9) or "reflect" (torch.stft's default, EfficientAT).
    """

    def __init__(self, fbank: Tensor, n_fft: int, hop: int, win_length: int | None = None,
                 periodic_window: bool = True, pad_mode: str = "constant", power: float = 2.0):
        super().__init__()
        win_length = win_length or n_fft
        self.n_fft, self.hop, self.pad_mode, self.power = n_fft, hop, pad_mode, power
        self.register_buffer("fbank", fbank.to(torch.float32), persistent=False)
        window = torch.hann_window(win_length, periodic=periodic_window, dtype=torch.float64)
        # A window shorter than the FFT is zero-padded on both sides, centred (as torch and librosa do).
        left = (n_fft - win_length) // 2
        window = nn.functional.pad(window, (left, n_fft - win_length - left))
        self.register_buffer("window", window.to(torch.float32), persistent=False)

    def forward(self, wave: Tensor) -> Tensor:
        if self.pad_mode == "reflect" and wave.shape[-1] <= self.n_fft // 2:
            # Reflection needs more samples than the pad; silence changes nothing for such short input.
            wave = nn.functional.pad(wave, (0, self.n_fft // 2 + 1 - wave.shape[-1]))
        spec = torch.stft(wave, self.n_fft, hop_length=self.hop, window=self.window, center=True,
                          pad_mode=self.pad_mode, return_complex=True)
        # re² + im² in one fused pass (a sum over the trailing pair axis was slower than the FFT).
        parts = torch.view_as_real(spec)
        real, imag = parts[..., 0], parts[..., 1]
        spec = torch.addcmul(real * real, imag, imag)
        if self.power != 2.0:
            spec = spec.pow(self.power / 2.0)
        return torch.matmul(self.fbank, spec)
