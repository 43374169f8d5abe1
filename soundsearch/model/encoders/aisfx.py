"""aisfx (Ma & Lerch, ISMIR 2022): a CNN pretrained on commercial sound-effects libraries, CC BY 4.0.

Our own loader for the weights that ship in the ``aisfx`` 0.1.2 wheel (``aisfx/models/checkpoint.pth``,
a pickled ``(state_dict, {dataset: (index, classes)})`` tuple), read with ``torch.load(weights_only=
True)`` so that no pickled code runs, and a torch front end equivalent to the package's librosa one:

- 44.1 kHz mono, divided by its peak (the package's librosa path does this per file);
- STFT n_fft = window = 2048 (periodic Hann), hop 1024 (23.2 ms), centred, zero padded;
- 96 mel bands 0–22,050 Hz on the HTK scale, each band's weights summing to 1 (``norm=1``);
- ``log10(10^4 · power + 1)`` divided by 9.4578 (the package's "original" min–max constants).

The network (the DCASE cross-task 8-layer CNN: 4 blocks of two 3×3 conv + BN + ReLU, max-pooling)
turns each 100-frame block (2.32 s) into one 512-d vector: the conv map averaged over frequency,
then max over time. A clip becomes a sequence of blocks. The package hops half a block; here the
hop is a config value and defaults to a whole block, which halves the cost (the 50× real-time
target on two CPU cores needs it) while the pooling head still sees every part of the clip.
Clips shorter than one block are padded with silence (zeros in this normalisation); the tail of a
longer clip gets one more block aligned to its end, so nothing is dropped and nothing is padded.
"""

from __future__ import annotations

import importlib
import importlib.resources
import logging
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from soundsearch.model.encoders import register_audio
from soundsearch.model.errors import ModelError
from soundsearch.model.melspec import MelSpectrogram, mel_filterbank, stft_frames

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100
N_FFT, HOP, N_MELS = 2048, 1024, 96
BLOCK = 100  # frames per embedding block: 100 · 1024 / 44100 ≈ 2.32 s
LOG_MAX = 9.457798957824707  # the package's spectrogram_normalize("original") maximum (minimum 0)


class ConvBlock(nn.Module):
    """Two 3×3 conv + BN + ReLU; parameter names as in aisfx's ``cnn2d.ConvBlock``."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.bn2 = nn.BatchNorm2d(cout)
        # Winograd pays on the CPU where the maps are small and the channels many (blocks 3, 4:
        # ~30% less time there); on the wide 100×96 maps its transforms cost more than they save.
        self.winograd = cout >= 256
        self._folded_key: tuple | None = None
        self._folded: tuple[Tensor, ...] = ()

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            x = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(x)))
        # Inference: fold the BatchNorm statistics into the conv weights (one pass less over the
        # largest feature maps; ~10% of the CPU time), kept until a parameter changes.
        key = tuple((t.data_ptr(), t._version) for m in (self.conv1, self.bn1, self.conv2, self.bn2)
                    for t in (*m.parameters(), *m.buffers()))
        winograd = self.winograd and x.device.type == "cpu"
        key = (*key, winograd)
        if self._folded_key != key:
            with torch.no_grad():
                folded = [*_folded(self.conv1, self.bn1), *_folded(self.conv2, self.bn2)]
                if winograd:
                    folded[0], folded[2] = winograd_weight(folded[0]), winograd_weight(folded[2])
            self._folded, self._folded_key = tuple(folded), key
        w1, b1, w2, b2 = self._folded
        if winograd:
            return winograd_conv_relu(winograd_conv_relu(x, w1, b1), w2, b2)
        x = _conv1_mono(x, w1, b1) if x.shape[1] == 1 else F.conv2d(x, w1, b1, padding=1)
        return F.conv2d(x.relu_(), w2, b2, padding=1).relu_()


def _conv1_mono(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """3×3 conv of a one-channel input as nine shifted copies times a [9, C] matrix.

    oneDNN writes this layer's output in NCHW (a one-channel input has no channels-last layout
    of its own), and the reorder for the next conv cost more than the conv; this writes NHWC.
    """
    n, _, h, w = x.shape
    padded = F.pad(x[:, 0], (1, 1, 1, 1))
    taps = torch.stack([padded[:, i:i + h, j:j + w] for i in range(3) for j in range(3)], dim=-1)
    out = torch.addmm(bias, taps.view(-1, 9), weight.reshape(weight.shape[0], 9).t())
    return out.view(n, h, w, -1).permute(0, 3, 1, 2)


def _folded(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Conv weights × BN scale and the BN shift, the weights channels-last (see AisfxCNN)."""
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    weight = conv.weight * scale[:, None, None, None]
    return weight.contiguous(memory_format=torch.channels_last), bn.bias - bn.running_mean * scale


# Winograd F(2×2, 3×3) (Lavin & Gray 2016): a 4×4 input tile gives a 2×2 output tile with 16
# multiplications per channel pair instead of 36. Its transforms use only ±1 and ½, so in float32
# the result differs from the direct conv by ~1e-6 relative (test_network_matches_the_package
# compares with the package's own network).
_WINO_G = torch.tensor([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=torch.float64)


def winograd_weight(weight: Tensor) -> Tensor:
    """3×3 conv weights ``[K, C, 3, 3]`` → the 16 transformed matrices ``[16, C, K]`` (G g Gᵀ)."""
    g = _WINO_G.to(weight.device)
    u = torch.einsum("ik,ockl,jl->ijco", g, weight.double(), g)
    return u.reshape(16, weight.shape[1], weight.shape[0]).to(weight.dtype).contiguous()


def winograd_conv_relu(x: Tensor, u: Tensor, bias: Tensor) -> Tensor:
    """``relu(conv2d(x, w, bias, padding=1))`` for ``u = winograd_weight(w)``; ``x`` is
    ``[N, C, H, W]`` (channels-last is fastest); returns a channels-last ``[N, K, H, W]``.

    A handful of large ops (each transform is one matrix product) rather than dozens of small
    ones: with two threads each op is a fork/join, and on a busy machine the joins dominate.
    """
    n, c, h, w = x.shape
    nh, nw = (h + 1) // 2, (w + 1) // 2  # output tiles; an odd side gets a padded last tile
    xp = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 2 * nw - w + 1, 1, 2 * nh - h + 1))
    tiles = xp.unfold(1, 4, 2).unfold(2, 4, 2).permute(4, 5, 0, 1, 2, 3).reshape(16, -1)
    b_t, a_t = _wino_transforms(x)
    v = torch.mm(b_t, tiles).view(16, -1, c)  # Bᵀ d B for every tile and channel
    m = torch.bmm(v, u)  # [16, tiles, K]
    y = torch.mm(a_t, m.view(16, -1)).view(2, 2, n, nh, nw, -1)  # Aᵀ M A
    y = y.permute(2, 3, 0, 4, 1, 5).reshape(n, 2 * nh, 2 * nw, -1)
    return y[:, :h, :w].add_(bias).relu_().permute(0, 3, 1, 2)


_WINO_BT = torch.tensor([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=torch.float32)
_WINO_AT = torch.tensor([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=torch.float32)


def _wino_transforms(x: Tensor) -> tuple[Tensor, Tensor]:
    """Bᵀ⊗Bᵀ ``[16, 16]`` and Aᵀ⊗Aᵀ ``[4, 16]``, acting on tiles flattened row-major."""
    return (torch.kron(_WINO_BT, _WINO_BT).to(x.device, x.dtype),
            torch.kron(_WINO_AT, _WINO_AT).to(x.device, x.dtype))


class AisfxCNN(nn.Module):
    """Blocks ``[N, 1, frames, mels]`` → ``[N, 512]``; names as aisfx's ``EmbeddingNet``."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.conv_block1 = ConvBlock(1, width)
        self.conv_block2 = ConvBlock(width, width * 2)
        self.conv_block3 = ConvBlock(width * 2, width * 4)
        self.conv_block4 = ConvBlock(width * 4, width * 8)
        self.dim = width * 8

    def forward(self, x: Tensor) -> Tensor:
        # Channels-last (NHWC) is oneDNN's native layout on the CPU: no reorder around each conv
        # (~10% faster), and max-pooling over it is vectorised (8× faster than over NCHW, where
        # it was ~8% of the time). Same arithmetic, so the same outputs up to float rounding.
        x = x.contiguous(memory_format=torch.channels_last)
        x = F.max_pool2d(self.conv_block1(x), 2)
        x = F.max_pool2d(self.conv_block2(x), 2)
        x = F.max_pool2d(self.conv_block3(x), 2)
        x = self.conv_block4(x)
        return x.mean(dim=3).amax(dim=2)


def block_starts(frames: int, block: int, hop: int, tail: str = "align") -> list[int]:
    """Start frames of the blocks covering ``frames`` frames.

    ``tail``: "align" adds a last block ending at the clip's end when the hops leave part of it
    uncovered; "pad" adds one that runs past the end (zero padded); "drop" leaves the rest out
    (the package's ``drop_partial_block``). A clip shorter than a block always gets one block.
    """
    if frames <= block:
        return [0]
    starts = list(range(0, frames - block + 1, hop))
    end = starts[-1] + block
    if end < frames:
        if tail == "align":
            starts.append(frames - block)
        elif tail == "pad":
            starts.append(starts[-1] + hop)
    return starts


class AisfxEncoder(nn.Module):
    """Audio encoder: wave ``[B, S]`` at 44.1 kHz → block sequence ``[B, T, 512]`` and mask."""

    sample_rate = SAMPLE_RATE

    def __init__(self, hop_blocks: float = 1.0, tail: str = "align", peak_normalize: bool = True,
                 chunk: int = 8):
        super().__init__()
        self.net = AisfxCNN()
        self.dim, self.n_mels = self.net.dim, N_MELS
        self.block, self.hop = BLOCK, max(1, round(BLOCK * hop_blocks))
        self.tail, self.peak_normalize, self.chunk = tail, peak_normalize, chunk
        self.frame_rate = SAMPLE_RATE / HOP  # mel frames per second
        self.seq_rate = self.frame_rate / self.hop  # sequence steps per second
        self.mel = MelSpectrogram(mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS, 0.0, SAMPLE_RATE / 2, htk=True,
                                                 norm=1), N_FFT, HOP, pad_mode="constant")

    def features(self, wave: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Normalised log-mel ``[B, 96, frames]`` and valid frames ``[B]``; padding frames are 0."""
        lengths = lengths.to(wave.device)
        valid = torch.arange(wave.shape[1], device=wave.device)[None, :] < lengths[:, None]
        wave = wave * valid
        if self.peak_normalize:
            peak = wave.abs().amax(dim=1, keepdim=True)
            wave = wave / torch.where(peak > 0, peak, torch.ones_like(peak))
        mel = torch.log10(self.mel(wave) * 1e4 + 1.0) / LOG_MAX
        mel_lengths = stft_frames(lengths, HOP).clamp_max(mel.shape[2])
        frame_valid = torch.arange(mel.shape[2], device=mel.device)[None, :] < mel_lengths[:, None]
        return mel * frame_valid[:, None, :], mel_lengths

    def encode_features(self, mel: Tensor, mel_lengths: Tensor) -> tuple[Tensor, Tensor]:
        starts = [block_starts(int(n), self.block, self.hop, self.tail) for n in mel_lengths.tolist()]
        need = max(s[-1] for s in starts) + self.block
        if mel.shape[2] < need:
            mel = F.pad(mel, (0, need - mel.shape[2]))
        offsets = torch.arange(self.block, device=mel.device)
        rows = torch.cat([torch.full((len(s),), b, dtype=torch.long) for b, s in enumerate(starts)])
        first = torch.tensor([i for s in starts for i in s], dtype=torch.long)
        rows, first = rows.to(mel.device), first.to(mel.device)
        # Advanced indices around a slice put the block axes first: [blocks, time, mels], the
        # CNN's layout (plus a channel axis).
        blocks = mel[rows[:, None], :, first[:, None] + offsets[None, :]].unsqueeze(1)
        # A few blocks per pass keep the CPU's caches warm (measured in bench_encoders.py); a GPU
        # wants big batches, and training wants one batch (BatchNorm statistics).
        chunk = self.chunk if mel.device.type == "cpu" else 256
        chunk = len(blocks) if self.training else chunk
        vectors = torch.cat([self.net(blocks[i:i + chunk]) for i in range(0, len(blocks), chunk)])
        counts = torch.tensor([len(s) for s in starts], device=mel.device)
        steps = torch.cat([torch.arange(len(s)) for s in starts]).to(mel.device)
        seq = vectors.new_zeros(len(starts), int(counts.max()), self.dim)
        seq[rows, steps] = vectors
        mask = torch.arange(seq.shape[1], device=mel.device)[None, :] < counts[:, None]
        return seq, mask

    def forward(self, wave: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        return self.encode_features(*self.features(wave, lengths))


def package_weights() -> Path:
    """The checkpoint inside the installed aisfx wheel (installed with ``pip install --no-deps``)."""
    try:
        root = importlib.resources.files("aisfx")
    except ModuleNotFoundError:
        raise ModelError("the aisfx package is not installed; install it with `pip install --no-deps "
                         "aisfx==0.1.2` (its pinned dependencies are not needed)") from None
    path = Path(str(root / "models" / "checkpoint.pth"))
    if not path.is_file():
        raise ModelError(f"aisfx is installed but its weights are missing: {path}")
    return path


def read_checkpoint(path: Path) -> tuple[dict[str, Tensor], dict]:
    """``(state_dict, {dataset: (index, n_classes)})`` of an aisfx checkpoint, without running
    pickled code. The state holds the embedding network (``embedding_net.*``) and, in the wheel's
    file, nine classifier heads (``fc.<index>.*``, see ``soundsearch.model.taggers.aisfx_heads``);
    a bare state dict gives an empty dataset map."""
    try:  # numpy 2 renamed the module that the file (written with numpy 1) names
        scalar = importlib.import_module("numpy._core.multiarray").scalar
    except ImportError:
        scalar = importlib.import_module("numpy.core.multiarray").scalar
    allowed = [(scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"),
               np.dtype, *[t for t in vars(np.dtypes).values() if isinstance(t, type)]]
    try:
        with ExitStack() as stack:
            stack.enter_context(torch.serialization.safe_globals(allowed))
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types; all mean "not a usable file"
        raise ModelError(f"cannot read aisfx weights {path}: {exc}") from exc
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], dict):
        return obj[0], {str(k): (int(v[0]), int(v[1])) for k, v in obj[1].items()}
    if isinstance(obj, dict):
        return obj, {}
    raise ModelError(f"{path} is not an aisfx checkpoint (a {type(obj).__name__})")


def load_state_dict(path: Path) -> dict[str, Tensor]:
    """The embedding network's tensors from an aisfx checkpoint, without running pickled code."""
    state, _ = read_checkpoint(path)
    prefix = "embedding_net."
    net = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not net:
        net = {k: v for k, v in state.items() if k.startswith("conv_block")}
    return net


@register_audio("aisfx")
def build(config: dict, weights: Path | None = None) -> AisfxEncoder:
    """config: ``pretrained`` (default True: the wheel's weights, or ``weights`` if given),
    ``hop_blocks`` (1.0; the package used 0.5), ``tail``, ``peak_normalize``, ``chunk``."""
    options = {k: config[k] for k in ("hop_blocks", "tail", "peak_normalize", "chunk") if k in config}
    encoder = AisfxEncoder(**options)
    if weights is not None or config.get("pretrained", True):
        path = Path(weights) if weights is not None else package_weights()
        missing, unexpected = encoder.net.load_state_dict(load_state_dict(path), strict=False)
        if missing or unexpected:
            raise ModelError(f"{path} does not match the aisfx network (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
        log.debug("aisfx weights loaded from %s", path)
    return encoder.eval()
