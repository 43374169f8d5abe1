"""Tiny random-init encoders for tests: same interfaces as the real backends, microseconds per call.

They exist so that the index, search and GUI tests can run the whole model path (batching, masks,
pooling head, projections, fusion, checkpoints) without downloads and without the cost of the real
encoders. Their output means nothing.
"""

from __future__ import annotations

import re
import zlib

import torch
import torch.nn.functional as F
from torch import nn

_PUNCT = re.compile(r"[^\w\s]+")


class TinyAudioEncoder(nn.Module):
    """Log-magnitude STFT pooled to a few bands, then a strided 1-D conv: one frame per ~0.1 s."""

    def __init__(self, sample_rate: int = 44100, dim: int = 32, bands: int = 16, n_fft: int = 512,
                 hop: int = 1024, seed: int | None = None):
        super().__init__()
        if seed is not None:
            torch.manual_seed(seed)
        self.sample_rate, self.dim, self.bands, self.n_fft, self.hop = sample_rate, dim, bands, n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.conv = nn.Conv1d(bands, dim, kernel_size=4, stride=4)

    def features(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if wave.shape[1] < self.n_fft:
            wave = F.pad(wave, (0, self.n_fft - wave.shape[1]))
        spec = torch.stft(wave, self.n_fft, self.hop, window=self.window, center=False,
                          return_complex=True).abs()
        bands = F.adaptive_avg_pool1d(spec.transpose(1, 2), self.bands).transpose(1, 2)
        mel_lengths = ((lengths.clamp_min(self.n_fft) - self.n_fft) // self.hop + 1).clamp_max(bands.shape[2])
        return torch.log1p(bands), mel_lengths

    def encode_features(self, mel: torch.Tensor, mel_lengths: torch.Tensor):
        if mel.shape[2] < 4:
            mel = F.pad(mel, (0, 4 - mel.shape[2]))
        seq = self.conv(mel).transpose(1, 2)
        steps = (mel_lengths.clamp_min(4) // 4).clamp(1, seq.shape[1])
        mask = torch.arange(seq.shape[1], device=seq.device)[None, :] < steps[:, None]
        return seq, mask

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor):
        return self.encode_features(*self.features(wave, lengths))


class TinyTextEncoder(nn.Module):
    """Hashed word embeddings, mean-pooled: same preprocessing rules as the real text encoders
    (lowercase, punctuation stripped, at most 32 tokens)."""

    def __init__(self, dim: int = 32, buckets: int = 4096, max_tokens: int = 32, seed: int | None = None):
        super().__init__()
        if seed is not None:
            torch.manual_seed(seed)
        self.dim, self.buckets, self.max_tokens = dim, buckets, max_tokens
        self.embed = nn.Embedding(buckets, dim)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        rows = []
        for text in texts:
            words = _PUNCT.sub(" ", text.lower()).split()[: self.max_tokens]
            rows.append([zlib.crc32(w.encode()) % (self.buckets - 1) + 1 for w in words] or [0])
        width = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
        return {"input_ids": ids, "attention_mask": (ids > 0).long()}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        w = attention_mask.unsqueeze(-1).to(torch.float32)
        return (self.embed(input_ids) * w).sum(1) / w.sum(1).clamp_min(1.0)


AUDIO = {"tiny": TinyAudioEncoder}
TEXT = {"tiny": TinyTextEncoder}
