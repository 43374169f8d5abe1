"""A tagger's vocabulary: which word each class of a label-bearing model stands for.

aisfx's ``ucsMixed`` head has 69 classes without names. ``align.py`` recovered what they mean by
matching the head's outputs on thousands of named sounds with the UCS categories those names
belong to; the result ships as ``resources/models/taggers/aisfx-ucsMixed.json``:

    {"source": "aisfx-ucsMixed", "dataset": "ucsMixed", "min_score": 0.15,
     "classes": [{"index": 0, "tag": "air", "purity": 0.41, "support": 35.2}, ...],
     "tags": {"air": "air burst blow hiss ...", ...}, "about": "how it was made"}

A class whose alignment was too weak has ``"tag": null`` and never names a sound. Several classes
may share a tag; a sound's confidence in a tag is the sum of its classes' probabilities. ``tags``
holds, per tag, the words the label bridge matches queries against (the UCS category, its
subcategories and synonyms).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soundsearch import paths


@dataclass
class TagVocabulary:
    source: str
    dataset: str
    classes: list[str | None]  # class index → tag (None: not aligned)
    texts: dict[str, str]  # tag → the words queries are matched against
    min_score: float = 0.15  # a tag below this confidence is not shown or filtered on
    about: str = ""
    tags: list[str] = field(init=False)  # distinct tags, in a fixed order

    def __post_init__(self) -> None:
        self.tags = sorted({t for t in self.classes if t})
        missing = [t for t in self.tags if t not in self.texts]
        if missing:
            raise ValueError(f"vocabulary {self.source}: no text for tags {missing[:3]}")

    @property
    def membership(self) -> np.ndarray:
        """``[C, V]`` 0/1: class c belongs to tag v."""
        m = np.zeros((len(self.classes), len(self.tags)), np.float32)
        index = {t: i for i, t in enumerate(self.tags)}
        for c, t in enumerate(self.classes):
            if t:
                m[c, index[t]] = 1.0
        return m

    def tag_scores(self, class_probs: np.ndarray) -> np.ndarray:
        """``[..., C]`` class probabilities → ``[..., V]`` tag confidences."""
        return np.asarray(class_probs, np.float32) @ self.membership

    def top_tags(self, class_probs: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most confident tags of one sound at or above ``min_score``, best first."""
        scores = self.tag_scores(class_probs)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.tags[i], round(float(scores[i]), 3)) for i in order if scores[i] >= self.min_score]

    @classmethod
    def load(cls, path: Path) -> TagVocabulary:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        classes: list[str | None] = [None] * (1 + max(int(c["index"]) for c in data["classes"]))
        for c in data["classes"]:
            classes[int(c["index"])] = c.get("tag") or None
        return cls(data["source"], data["dataset"], classes, dict(data["tags"]),
                   float(data.get("min_score", 0.15)), data.get("about", ""))


def vocabulary_path(source: str) -> Path:
    return paths.resources_dir() / "models" / "taggers" / f"{source}.json"
