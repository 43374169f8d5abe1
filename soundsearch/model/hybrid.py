"""The hybrid retrieval head of Primus & Widmer (2024): audio pooling, projections and fusion.

The head sits on top of frozen or fine-tuned encoders and sees only their outputs: the audio
encoder's frame sequence ``seq [B, T, Da]`` with its validity ``mask [B, T]`` and the text
encoder's pooled vectors ``[B, Dt]`` (queries and metadata share the text encoder; they get separate
projections, as the paper found sharing the encoder but not the projection best).

Fusion modes:

- ``late`` (product default): item = L2norm(proj_audio(pool(seq)) + proj_meta(meta)); a file without
  metadata is its audio vector alone. The score is the cosine with proj_query(query).
- ``mid``: the projected metadata vector is appended to the audio sequence as one more token before
  pooling. On the query side two gated embedding units (Miech et al., "mixture of embedding
  experts") give one query vector per item part, and the score is the query-weighted sum of the
  cosine with the pooled audio token and with the metadata token; without metadata the weights are
  renormalised over the audio part alone.
- ``audio`` / ``metadata``: single-branch baselines.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

FUSIONS = ("late", "mid", "audio", "metadata")
# Query recall (HybridModel.recall_query), used by audio-only search. Chosen on the validation
# packages (audio-mode MAP, names + descriptive; k 10 / 50, temperature 0.05 / 0.1, weight 0.5 / 1 /
# 2, to the memory's keys or its values): none 0.423, keys k 10, 0.1, 1.0: 0.454 (values: ≤ 0.43).
QUERY_RECALL_K, QUERY_RECALL_TEMPERATURE, QUERY_RECALL_WEIGHT = 10, 0.1, 1.0


@dataclass
class PoolConfig:
    """Transformer pooling; ``layers=0`` is plain masked mean pooling."""

    layers: int = 1
    heads: int = 4
    width: int = 0  # 0 = the audio encoder's dim (no input projection)
    ff_mult: int = 2
    dropout: float = 0.1
    input_norm: bool = False  # LayerNorm on the encoder's frames first (scale-free input)


@dataclass
class HybridConfig:
    audio_dim: int
    text_dim: int
    dim: int = 256  # retrieval space
    fusion: str = "late"
    pool: PoolConfig = field(default_factory=PoolConfig)
    text_hidden: int = 0  # 0 = linear query/metadata projections, else a one-hidden-layer MLP
    audio_hidden: int = 0  # the same for the audio projection
    dropout: float = 0.1  # on the projection inputs while training
    # "identity": query and metadata projections start as the identity (needs dim == text_dim), so
    # an untrained metadata branch ranks exactly as the pretrained text encoder does.
    text_init: str = "random"
    # Caption recall (attach_memory in train.py): the audio vector is pulled toward the captions of
    # the ``memory_k`` training sounds nearest to it. 0 = no memory (the head as trained).
    memory_size: int = 0  # rows of (key, caption) pairs stored with the head
    memory_k: int = 50
    memory_temperature: float = 0.1
    memory_weight: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.pool, dict):
            self.pool = PoolConfig(**self.pool)
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; expected one of {FUSIONS}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> HybridConfig:
        return cls(**data)


def masked_mean(seq: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the valid frames; an all-invalid row gives zeros rather than NaN."""
    w = mask.to(seq.dtype).unsqueeze(-1)
    return (seq * w).sum(1) / w.sum(1).clamp_min(1.0)


def sinusoidal_positions(length: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Fixed positions of "Attention is all you need" (no learned table, so any length works)."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    half = (width + 1) // 2
    freq = torch.exp(torch.arange(half, device=device, dtype=torch.float32) * (-math.log(10000.0) / half))
    angles = pos * freq
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)[:, :width]
    return table.to(dtype)


class PoolingHead(nn.Module):
    """Transformer over the frame sequence plus one global token; the global token's output is the
    pooled audio vector. The global token starts as the masked mean of the sequence plus a learnable
    bias, so an untrained head already pools sensibly (its residual path carries the mean)."""

    def __init__(self, in_dim: int, cfg: PoolConfig):
        super().__init__()
        self.cfg = cfg
        self.width = cfg.width or in_dim
        proj = nn.Linear(in_dim, self.width) if self.width != in_dim else nn.Identity()
        self.in_proj = nn.Sequential(nn.LayerNorm(in_dim), proj) if cfg.input_norm else proj
        self.global_bias = nn.Parameter(torch.zeros(self.width))
        self.layers = None
        if cfg.layers > 0:
            layer = nn.TransformerEncoderLayer(
                self.width, cfg.heads, self.width * cfg.ff_mult, cfg.dropout,
                activation="gelu", batch_first=True, norm_first=True)
            self.layers = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)

    def tokens(self, seq: torch.Tensor) -> torch.Tensor:
        return self.in_proj(seq)

    def global_token(self, seq: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The global token before the transformer: masked mean of the (projected) sequence + bias."""
        return masked_mean(self.tokens(seq), mask) + self.global_bias

    def forward(self, seq: torch.Tensor, mask: torch.Tensor, extra: torch.Tensor | None = None,
                extra_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Pool ``seq``; ``extra [B, width]`` is an optional token appended after the frames (mid
        fusion's metadata token). Returns (global output [B, width], extra output or None)."""
        x = self.tokens(seq)
        if self.layers is None:
            return masked_mean(x, mask), extra
        g = masked_mean(x, mask) + self.global_bias
        x = x + sinusoidal_positions(x.shape[1], self.width, x.device, x.dtype)
        parts, valid = [g.unsqueeze(1), x], [torch.ones_like(mask[:, :1]), mask]
        if extra is not None:
            parts.append(extra.unsqueeze(1))
            valid.append(extra_mask.unsqueeze(1) if extra_mask is not None else torch.ones_like(mask[:, :1]))
        out = self.layers(torch.cat(parts, 1), src_key_padding_mask=~torch.cat(valid, 1))
        return out[:, 0], (out[:, -1] if extra is not None else None)


def _text_proj(in_dim: int, dim: int, hidden: int, dropout: float) -> nn.Module:
    """A projection into the retrieval space: linear, or one hidden layer when ``hidden`` > 0."""
    if hidden <= 0:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, dim))
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class GatedEmbeddingUnit(nn.Module):
    """Miech et al.'s GEU: y = W1 x + b1, then y * sigmoid(W2 y + b2) (normalised by the caller)."""

    def __init__(self, in_dim: int, dim: int):
        super().__init__()
        self.fc = nn.Linear(in_dim, dim)
        self.gate = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return y * torch.sigmoid(self.gate(y))


class HybridModel(nn.Module):
    def __init__(self, cfg: HybridConfig):
        super().__init__()
        self.cfg = cfg
        self.pool = PoolingHead(cfg.audio_dim, cfg.pool)
        width = self.pool.width
        self.proj_audio = _text_proj(width, cfg.dim, cfg.audio_hidden, cfg.dropout)
        self.proj_meta = _text_proj(cfg.text_dim, cfg.dim, cfg.text_hidden, cfg.dropout)
        self.proj_query = _text_proj(cfg.text_dim, cfg.dim, cfg.text_hidden, cfg.dropout)
        if cfg.text_init == "identity":
            if cfg.text_hidden or cfg.dim != cfg.text_dim:
                raise ValueError("text_init='identity' needs linear text projections and dim == text_dim")
            for proj in (self.proj_meta, self.proj_query):
                nn.init.eye_(proj[-1].weight)
                nn.init.zeros_(proj[-1].bias)
        # float16: the rows are unit vectors and the file stays small; cast to the input's dtype on use.
        self.register_buffer("memory_keys", torch.zeros(cfg.memory_size, cfg.dim, dtype=torch.float16))
        self.register_buffer("memory_values", torch.zeros(cfg.memory_size, cfg.dim, dtype=torch.float16))
        if cfg.fusion == "mid":
            self.meta_token = nn.Linear(cfg.text_dim, width)
            self.proj_meta_token = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(width, cfg.dim))
            self.query_audio = GatedEmbeddingUnit(cfg.text_dim, cfg.dim)
            self.query_meta = GatedEmbeddingUnit(cfg.text_dim, cfg.dim)
            self.query_weights = nn.Linear(cfg.text_dim, 2)

    @property
    def fusion(self) -> str:
        return self.cfg.fusion

    # -- the parts the runtime API serves (late fusion) -------------------------------------
    def embed_audio(self, seq: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """proj_audio(pool(seq)), not normalised (fusion adds the metadata part first); with a
        caption memory, :meth:`recall` applied to it."""
        audio = self.proj_audio(self.pool(seq, mask)[0])
        return self.recall(audio) if self.cfg.memory_size else audio

    def recall(self, audio: torch.Tensor) -> torch.Tensor:
        """Caption recall: ``a`` (unit) plus ``memory_weight`` times the unit softmax-weighted mean
        (``memory_temperature``) of the captions of the ``memory_k`` nearest keys, renormalised and
        scaled back to ``audio``'s norm (the late-fusion weight keeps its meaning)."""
        cfg = self.cfg
        unit = F.normalize(audio, dim=-1)
        keys, values = self.memory_keys.to(audio.dtype), self.memory_values.to(audio.dtype)
        near, idx = (unit @ keys.T).topk(min(cfg.memory_k, cfg.memory_size), dim=-1)
        w = torch.softmax(near / cfg.memory_temperature, dim=-1)
        recalled = F.normalize((w.unsqueeze(-1) * values[idx]).sum(1), dim=-1)
        return F.normalize(unit + cfg.memory_weight * recalled, dim=-1) * audio.norm(dim=-1, keepdim=True)

    def recall_query(self, query: torch.Tensor) -> torch.Tensor:
        """Query recall, for searching the audio vectors alone: the unit query plus
        QUERY_RECALL_WEIGHT × the unit softmax-weighted mean (QUERY_RECALL_TEMPERATURE) of the audio
        keys whose captions are the QUERY_RECALL_K nearest to it — what the training sounds
        captioned like this sounded like. The mirror of :meth:`recall`; without a memory, the unit
        query unchanged."""
        unit = F.normalize(query, dim=-1)
        if not self.cfg.memory_size:
            return unit
        keys, values = self.memory_keys.to(unit.dtype), self.memory_values.to(unit.dtype)
        near, idx = (unit @ values.T).topk(min(QUERY_RECALL_K, self.cfg.memory_size), dim=-1)
        w = torch.softmax(near / QUERY_RECALL_TEMPERATURE, dim=-1)
        recalled = F.normalize((w.unsqueeze(-1) * keys[idx]).sum(1), dim=-1)
        return F.normalize(unit + QUERY_RECALL_WEIGHT * recalled, dim=-1)

    def set_memory(self, keys: torch.Tensor | None, values: torch.Tensor | None = None, k: int = 50,
                   temperature: float = 0.1, weight: float = 1.0) -> None:
        """Store a caption memory (unit ``keys`` in the audio space, unit ``values`` in the query
        space, ``[M, dim]`` each) or, with ``keys=None``, remove it."""
        if keys is None:
            keys = values = torch.zeros(0, self.cfg.dim)
        elif self.cfg.fusion == "mid":
            raise ValueError("a caption memory serves late-fusion and single-branch heads, not mid fusion")
        if keys.shape != values.shape or keys.shape[1] != self.cfg.dim:
            raise ValueError(f"memory keys {tuple(keys.shape)} and values {tuple(values.shape)} must both "
                             f"be [M, {self.cfg.dim}]")
        device = self.memory_keys.device
        self.memory_keys = keys.detach().to(device, torch.float16)
        self.memory_values = values.detach().to(device, torch.float16)
        self.cfg = replace(self.cfg, memory_size=len(keys), memory_k=k, memory_temperature=temperature,
                           memory_weight=weight)

    def embed_meta(self, text: torch.Tensor) -> torch.Tensor:
        return self.proj_meta(text)

    def embed_query(self, text: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj_query(text), dim=-1)

    @staticmethod
    def fuse(audio: torch.Tensor, meta: torch.Tensor, has_meta: torch.Tensor,
             weight: float = 1.0) -> torch.Tensor:
        """Late fusion: L2norm(audio + weight * meta), with meta ignored where it is missing."""
        return F.normalize(audio + weight * meta * has_meta.to(audio.dtype).unsqueeze(-1), dim=-1)

    # -- training / evaluation in every mode ---------------------------------------------------
    def items(self, seq: torch.Tensor, mask: torch.Tensor, meta: torch.Tensor,
              has_meta: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Item representation in the configured fusion mode (normalised vectors; for ``mid`` a
        tuple (audio part, metadata part, has_meta))."""
        mode = self.cfg.fusion
        if mode == "audio":
            return F.normalize(self.embed_audio(seq, mask), dim=-1)
        if mode == "metadata":
            # An untagged item has nothing to match: a zero vector scores 0 against every query.
            return F.normalize(self.embed_meta(meta), dim=-1) * has_meta.to(meta.dtype).unsqueeze(-1)
        if mode == "late":
            return self.fuse(self.embed_audio(seq, mask), self.embed_meta(meta), has_meta)
        g, m = self.pool(seq, mask, extra=self.meta_token(meta), extra_mask=has_meta)
        return (F.normalize(self.proj_audio(g), dim=-1), F.normalize(self.proj_meta_token(m), dim=-1),
                has_meta)

    def queries(self, text: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.cfg.fusion != "mid":
            return self.embed_query(text)
        qa = F.normalize(self.query_audio(text), dim=-1)
        qm = F.normalize(self.query_meta(text), dim=-1)
        return qa, qm, torch.softmax(self.query_weights(text), dim=-1)

    def scores(self, queries, items) -> torch.Tensor:
        """Similarity matrix [Nq, Ni] between :meth:`queries` and :meth:`items` outputs."""
        if self.cfg.fusion != "mid":
            return queries @ items.T
        qa, qm, w = queries
        ia, im, has_meta = items
        sa, sm = qa @ ia.T, qm @ im.T
        hm = has_meta.to(sa.dtype).unsqueeze(0)
        wa, wm = w[:, :1], w[:, 1:] * hm
        return (wa * sa + wm * sm) / (wa + wm)
