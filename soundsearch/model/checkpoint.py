"""Model checkpoints: a folder with ``config.json``, ``model.safetensors`` and ``card.md``.

Loading never unpickles: weights are safetensors, configuration is JSON read into dataclasses
(typed, versioned). The head's tensors are stored under ``head.*``; encoders whose weights do not come
from their own package (fine-tuned or random-init ones) are stored under ``audio_encoder.*`` /
``text_encoder.*`` and flagged ``in_checkpoint`` in the config.

``model_id`` is a hash of the canonical config JSON and every tensor's name, dtype, shape and bytes:
identical models get identical ids, any change of weights or configuration a new one (the index
rebuilds when it changes).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from soundsearch.atomic import atomic_path, atomic_write_text
from soundsearch.model.hybrid import HybridConfig

FORMAT_VERSION = 1
CONFIG_NAME, WEIGHTS_NAME, CARD_NAME = "config.json", "model.safetensors", "card.md"


@dataclass
class EncoderSpec:
    name: str
    config: dict = field(default_factory=dict)
    weights: str | None = None  # a user-supplied weights file (e.g. an EfficientAT checkpoint)
    in_checkpoint: bool = False  # weights stored in model.safetensors under "<role>."


@dataclass
class ModelConfig:
    audio: EncoderSpec
    text: EncoderSpec
    head: HybridConfig
    format_version: int = FORMAT_VERSION
    training: dict = field(default_factory=dict)  # what it was trained on and how (informative)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        version = data.get("format_version", FORMAT_VERSION)
        if version > FORMAT_VERSION:
            raise ValueError(f"checkpoint format {version} is newer than this soundsearch ({FORMAT_VERSION})")
        return cls(
            audio=EncoderSpec(**data["audio"]),
            text=EncoderSpec(**data["text"]),
            head=HybridConfig.from_dict(data["head"]),
            format_version=version,
            training=dict(data.get("training", {})),
        )


def _identity_config(cfg: ModelConfig) -> dict:
    # "training" is a description, not part of what the model computes.
    data = cfg.to_dict()
    data.pop("training", None)
    return data


def compute_model_id(cfg: ModelConfig, state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(_identity_config(cfg), sort_keys=True).encode())
    for name in sorted(state):
        t = state[name].detach().to("cpu").contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def collect_state(head: torch.nn.Module, audio_encoder: torch.nn.Module | None = None,
                  text_encoder: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Flat tensor dict: ``head.*`` plus the encoders given (pass them only when in_checkpoint)."""
    state = {f"head.{k}": v for k, v in head.state_dict().items()}
    for role, module in (("audio_encoder", audio_encoder), ("text_encoder", text_encoder)):
        if module is not None:
            state.update({f"{role}.{k}": v for k, v in module.state_dict().items()})
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def split_state(state: dict[str, torch.Tensor], role: str) -> dict[str, torch.Tensor]:
    prefix = role + "."
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def save_checkpoint(folder: str | Path, cfg: ModelConfig, state: dict[str, torch.Tensor],
                    card: str | None = None) -> str:
    """Write the three files (each atomically) and return the model id."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_id = compute_model_id(cfg, state)
    with atomic_path(folder / WEIGHTS_NAME) as tmp:
        # safetensors refuses tensors that share memory; clone so tied/viewed params save cleanly.
        save_file({k: v.clone() for k, v in state.items()}, str(tmp), metadata={"model_id": model_id})
    atomic_write_text(folder / CONFIG_NAME, json.dumps(cfg.to_dict(), indent=2, sort_keys=True) + "\n")
    if card is not None:
        atomic_write_text(folder / CARD_NAME, card)
    for name in (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME):
        if (folder / name).is_file():
            # Temp files are created private (0600); a model folder is shipped or shared: 0644.
            os.chmod(folder / name, 0o644)
    return model_id


def load_checkpoint(folder: str | Path) -> tuple[ModelConfig, dict[str, torch.Tensor], str]:
    """Read (config, tensors, card text). Raises FileNotFoundError / ValueError on a bad folder."""
    folder = Path(folder)
    cfg_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not cfg_path.is_file() or not weights_path.is_file():
        raise FileNotFoundError(f"{folder} is not a model folder (needs {CONFIG_NAME} and {WEIGHTS_NAME})")
    try:
        cfg = ModelConfig.from_dict(json.loads(cfg_path.read_text(encoding="utf-8")))
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{cfg_path}: bad model config ({exc})") from exc
    state = load_file(str(weights_path))
    card_path = folder / CARD_NAME
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    return cfg, state, card
