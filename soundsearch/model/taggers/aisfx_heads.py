"""aisfx's own classifier heads: what its trunk was trained to tell apart, as class probabilities.

The ``aisfx`` 0.1.2 wheel's checkpoint holds, beside the embedding network the audio encoder loads,
nine classifier heads (Ma & Lerch's cross-dataset training over professional sound-effects
libraries). Each is ``Linear(512, 256) → ReLU → Linear(256, 128) → ReLU → Linear(128, n)`` on one
2.32 s block vector; the checkpoint's second element maps dataset → (head index, class count):
``prosfx`` 78, ``soundlyTrain`` 79, ``ucsMixed`` 69, ``soundstormBalanced`` 81,
``productionelementsBalanced`` 10, ``cartoonexpressBalanced`` 27, ``hpxdigitalBalanced`` 3,
``series6000Balanced`` 23, ``series9000Balanced`` 8. Class names are not shipped; what the
``ucsMixed`` classes mean was recovered by alignment with named sounds (``vocabulary.py``).

The heads read the block sequence the audio encoder already computed, so tagging costs three small
matrix products per block, not another pass over the audio.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from soundsearch.model.errors import ModelError


class AisfxHeads(nn.Module):
    """The nine heads; ``forward(seq [B, T, 512], mask [B, T])`` → {dataset: probs [B, n]}, the
    softmax of each valid block averaged over the clip's blocks."""

    def __init__(self, datasets: dict[str, tuple[int, int]], width: int = 512):
        super().__init__()
        self.datasets = dict(sorted(datasets.items(), key=lambda kv: kv[1][0]))
        self.heads = nn.ModuleDict({
            name: nn.Sequential(nn.Linear(width, width // 2), nn.ReLU(), nn.Linear(width // 2, width // 4),
                                nn.ReLU(), nn.Linear(width // 4, n))
            for name, (_, n) in self.datasets.items()})

    def forward(self, seq: Tensor, mask: Tensor, names: tuple[str, ...] | None = None) -> dict[str, Tensor]:
        w = mask.to(seq.dtype)
        w = w / w.sum(dim=1, keepdim=True).clamp_min(1.0)
        out = {}
        for name in names or tuple(self.datasets):
            probs = torch.softmax(self.heads[name](seq), dim=-1)
            out[name] = (probs * w.unsqueeze(-1)).sum(dim=1)
        return out

    def features(self, seq: Tensor, mask: Tensor) -> Tensor:
        """Every head's clip probabilities side by side ``[B, Σ n]`` (378 for the wheel's heads)."""
        return torch.cat(list(self(seq, mask).values()), dim=-1)


def from_state(state: dict[str, Tensor], datasets: dict[str, tuple[int, int]]) -> AisfxHeads:
    """The heads from a checkpoint's ``fc.<index>.{0,2,4}`` tensors."""
    if not datasets:
        raise ModelError("this aisfx checkpoint has no classifier heads (no dataset map)")
    heads = AisfxHeads(datasets)
    for name, (index, _) in heads.datasets.items():
        seq = heads.heads[name]
        try:
            for layer in (0, 2, 4):
                w, b = state[f"fc.{index}.{layer}.weight"], state[f"fc.{index}.{layer}.bias"]
                if seq[layer].weight.shape != w.shape:
                    raise ModelError(f"head {name!r} layer {layer}: shape {tuple(w.shape)}, "
                                     f"expected {tuple(seq[layer].weight.shape)}")
                seq[layer].weight.data.copy_(w)
                seq[layer].bias.data.copy_(b)
        except KeyError as exc:
            raise ModelError(f"the aisfx checkpoint lacks head {name!r} ({exc})") from None
    return heads.eval()


def load_heads(path: Path | None = None) -> AisfxHeads:
    """The heads of the installed aisfx wheel (or of the checkpoint at ``path``)."""
    from soundsearch.model.encoders.aisfx import package_weights, read_checkpoint

    state, datasets = read_checkpoint(Path(path) if path is not None else package_weights())
    return from_state(state, datasets)
