"""EfficientAT MobileNetV3 audio taggers (Schmid et al., MIT licence), written for this project.

The module tree mirrors EfficientAT's ``models/mn`` code so that its official checkpoint files
(``mn10_as_mAP_471.pt``, ``mn40_as_ext_mAP_487.pt`` …) load by their state-dict keys:
``features.0`` is the stem (conv, BN, Hardswish), ``features.1`` … ``features.15`` the inverted
residual blocks (``.block.<i>`` = [1×1 expand,] depthwise, [channel squeeze-excitation as
``conc_se_layers.0.fc1/fc2``,] 1×1 project), ``features.16`` the last 1×1 conv to 6·C channels and
``classifier`` the MLP head (pool, flatten, Linear, Hardswish, Dropout, Linear → 527 AudioSet logits).

Front end as their ``AugmentMelSTFT`` in eval mode: 32 kHz, pre-emphasis (x[n] − 0.97·x[n−1]),
STFT n_fft 1024 / symmetric Hann window 800 / hop 320 (10 ms), centred with reflection, power,
128 Kaldi mel banks 0–15 kHz, ``(ln(mel + 1e-5) + 4.5) / 5``.

The sequence is the last conv map averaged over frequency: one ``6·C``-d frame per 32 STFT frames
(0.32 s); the logits come from the masked mean of that sequence (= their global average pool).
Unlike aisfx's independent blocks, a clip's padding here reaches its valid frames (3×3/5×5 convs,
squeeze-excitation means over the whole map), so callers batch clips of similar length, as the
runtime API does.
"""

from __future__ import annotations

import csv
import logging
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from soundsearch import paths
from soundsearch.model.encoders import register_audio
from soundsearch.model.errors import ModelError
from soundsearch.model.melspec import MelSpectrogram, kaldi_mel_banks

log = logging.getLogger(__name__)

SAMPLE_RATE, N_FFT, WIN, HOP, N_MELS = 32000, 1024, 800, 320, 128
FMIN, FMAX = 0.0, 15000.0  # AugmentMelSTFT's eval band: fmax = sr/2 − fmax_aug_range/2
LOG_EPS = 1e-5
STRIDES = 5  # stride-2 layers in time (stem + 4 stages): one output frame per 32 mel frames
WIDTHS = {"mn01": 0.1, "mn02": 0.2, "mn04": 0.4, "mn05": 0.5, "mn06": 0.6, "mn08": 0.8, "mn10": 1.0,
          "mn12": 1.2, "mn14": 1.4, "mn16": 1.6, "mn20": 2.0, "mn30": 3.0, "mn40": 4.0}
# MobileNetV3-Large: (in, kernel, expanded, out, squeeze-excitation, hard-swish, stride)
BNECK = [
    (16, 3, 16, 16, False, False, 1), (16, 3, 64, 24, False, False, 2), (24, 3, 72, 24, False, False, 1),
    (24, 5, 72, 40, True, False, 2), (40, 5, 120, 40, True, False, 1), (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2), (80, 3, 200, 80, False, True, 1), (80, 3, 184, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1), (80, 3, 480, 112, True, True, 1), (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2), (160, 5, 960, 160, True, True, 1), (160, 5, 960, 160, True, True, 1),
]


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of 8, never more than 10% down (TF MobileNet's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def width_of(name: str) -> float:
    try:
        return WIDTHS[name[:4]]
    except KeyError:
        raise ModelError(f"unknown EfficientAT model {name!r}; expected mn04 … mn40") from None


class ConvBNAct(nn.Sequential):
    """conv (no bias), BN, activation: keys ``.0`` and ``.1`` as torchvision's ConvNormActivation."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: type[nn.Module] | None = nn.Hardswish):
        layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout, eps=0.001, momentum=0.01)]
        super().__init__(*layers, *([act(inplace=True)] if act else []))


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, squeeze)
        self.fc2 = nn.Linear(squeeze, channels)

    def forward(self, x: Tensor) -> Tensor:
        scale = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * scale[:, :, None, None]


class ConcurrentSE(nn.Module):
    """EfficientAT's wrapper for SE on several axes; its default (and the checkpoints') is the
    channel axis only, so one layer and nothing to aggregate."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        squeeze = make_divisible(channels // reduction)
        self.conc_se_layers = nn.ModuleList([SqueezeExcitation(channels, squeeze)])

    def forward(self, x: Tensor) -> Tensor:
        return self.conc_se_layers[0](x)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, kernel: int, expanded: int, cout: int, se: bool, hswish: bool, stride: int):
        super().__init__()
        act = nn.Hardswish if hswish else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(ConvBNAct(cin, expanded, 1, act=act))
        layers.append(ConvBNAct(expanded, expanded, kernel, stride, groups=expanded, act=act))
        if se:
            layers.append(ConcurrentSE(expanded))
        layers.append(ConvBNAct(expanded, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return out + x if self.residual else out


class MobileNet(nn.Module):
    def __init__(self, width: float = 1.0, num_classes: int = 527, dropout: float = 0.2):
        super().__init__()
        ch = [tuple(make_divisible(c * width) if i in (0, 2, 3) else c for i, c in enumerate(row))
              for row in BNECK]
        layers: list[nn.Module] = [ConvBNAct(1, ch[0][0], 3, stride=2)]
        layers += [InvertedResidual(*row) for row in ch]
        self.dim = 6 * ch[-1][3]
        layers.append(ConvBNAct(ch[-1][3], self.dim, 1))
        self.features = nn.Sequential(*layers)
        hidden = make_divisible(1280 * width)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(self.dim, hidden),
                                        nn.Hardswish(inplace=True), nn.Dropout(dropout, inplace=True),
                                        nn.Linear(hidden, num_classes))
        for m in self.modules():  # EfficientAT's initialisation, for random-init (test) models
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)


class EfficientATEncoder(nn.Module):
    """Wave ``[B, S]`` at 32 kHz → frames ``[B, T, 6·C]`` + mask, and 527 AudioSet logits."""

    sample_rate = SAMPLE_RATE

    def __init__(self, name: str = "mn40_as_ext", width: float | None = None, num_classes: int = 527):
        super().__init__()
        self.name = name
        self.net = MobileNet(width if width is not None else width_of(name), num_classes)
        self.dim, self.n_mels = self.net.dim, N_MELS
        self.frame_rate = SAMPLE_RATE / HOP  # mel frames per second
        self.seq_rate = self.frame_rate / 2**STRIDES  # sequence steps per second
        self.mel = MelSpectrogram(kaldi_mel_banks(N_MELS, N_FFT, SAMPLE_RATE, FMIN, FMAX), N_FFT, HOP, WIN,
                                  periodic_window=False, pad_mode="reflect")
        self.register_buffer("preemphasis", torch.tensor([[[-0.97, 1.0]]]), persistent=False)

    def features(self, wave: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Log-mel ``[B, 128, frames]`` and valid frames ``[B]``; padding frames hold silence."""
        lengths = lengths.to(wave.device)
        if wave.shape[1] < 2:
            wave = F.pad(wave, (0, 2 - wave.shape[1]))
        x = F.conv1d(wave.unsqueeze(1), self.preemphasis).squeeze(1)
        mel = (torch.log(self.mel(x) + LOG_EPS) + 4.5) / 5.0
        # Pre-emphasis drops one sample; a centred STFT of n samples has 1 + n // hop frames.
        mel_lengths = torch.div((lengths - 1).clamp_min(0), HOP, rounding_mode="floor") + 1
        mel_lengths = mel_lengths.clamp_max(mel.shape[2])
        valid = torch.arange(mel.shape[2], device=mel.device)[None, None, :] < mel_lengths[:, None, None]
        silence = (torch.log(torch.tensor(LOG_EPS)) + 4.5) / 5.0
        return torch.where(valid, mel, silence.to(mel)), mel_lengths

    def encode_features(self, mel: Tensor, mel_lengths: Tensor) -> tuple[Tensor, Tensor]:
        fmap = self.net.features(mel.unsqueeze(1))  # [B, C, freq, time]
        seq = fmap.mean(dim=2).transpose(1, 2)
        steps = mel_lengths.to(seq.device)
        for _ in range(STRIDES):  # odd kernels, padding (k−1)/2, stride 2: ceil(n / 2)
            steps = torch.div(steps - 1, 2, rounding_mode="floor") + 1
        mask = torch.arange(seq.shape[1], device=seq.device)[None, :] < steps.clamp(1, seq.shape[1])[:, None]
        return seq, mask

    def logits(self, seq: Tensor, mask: Tensor) -> Tensor:
        w = mask.to(seq.dtype).unsqueeze(-1)
        pooled = (seq * w).sum(1) / w.sum(1).clamp_min(1.0)
        return self.net.classifier[2:](pooled)

    def forward(self, wave: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        return self.encode_features(*self.features(wave, lengths))

    def forward_with_logits(self, wave: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        seq, mask = self(wave, lengths)
        return seq, mask, self.logits(seq, mask)


@lru_cache(maxsize=1)
def labels() -> list[str]:
    """The 527 AudioSet class names, in logit order."""
    path = paths.resources_dir() / "audioset" / "class_labels_indices.csv"
    with open(path, newline="", encoding="utf-8") as f:
        return [row["display_name"] for row in csv.DictReader(f)]


def find_weights(name: str) -> Path:
    """``models_dir()/efficientat/<name>.pt``, or an official release file named ``<name>_mAP_*.pt``."""
    folder = paths.models_dir() / "efficientat"
    candidates = [folder / f"{name}.pt", *sorted(folder.glob(f"{name}_mAP_*.pt"), reverse=True)]
    for path in candidates:
        if path.is_file():
            return path
    raise ModelError(f"no weights for EfficientAT {name!r}: put the official checkpoint (e.g. "
                     f"{name}_mAP_*.pt from github.com/fschmid56/EfficientAT releases) in {folder} "
                     "or name the file")


def load_state_dict(path: Path) -> dict[str, Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types; all mean "not a usable file"
        raise ModelError(f"cannot read EfficientAT weights {path}: {exc}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return {k.removeprefix("module.").removeprefix("net."): v for k, v in state.items()}


@register_audio("efficientat")
def build(config: dict, weights: Path | None = None) -> EfficientATEncoder:
    """config: ``name`` (mn04 … mn40_as_ext, default mn40_as_ext), ``width`` (overrides the name's),
    ``num_classes`` (527), ``pretrained`` (default True: ``weights`` or the models folder)."""
    encoder = EfficientATEncoder(config.get("name", "mn40_as_ext"), config.get("width"),
                                 config.get("num_classes", 527))
    if weights is not None or config.get("pretrained", True):
        path = Path(weights) if weights is not None else find_weights(encoder.name)
        try:
            encoder.net.load_state_dict(load_state_dict(path))
        except RuntimeError as exc:
            raise ModelError(f"{path} does not fit EfficientAT {encoder.name}: {str(exc)[:500]}") from exc
        log.debug("EfficientAT %s loaded from %s", encoder.name, path)
    return encoder.eval()
