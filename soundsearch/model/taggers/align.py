"""Naming a classifier's anonymous classes by aligning its outputs with named sounds.

aisfx's ``ucsMixed`` head was trained on sounds filed under UCS categories, but its checkpoint does
not say which class is which category. Over a large set of sounds whose names say what they are:

1. each sound gets a *weak* UCS category: the category of the UCS subcategory row (category,
   subcategory and synonyms, embedded by the text encoder) nearest to the sound's caption, when the
   similarity clears ``min_similarity`` (``weak_categories``);
2. ``A[c, g]`` sums the head's probability of class ``c`` over the sounds weakly filed under ``g``;
   against what independence would give (``rowsum · colsum / total``) this is a *lift*;
3. each class takes the category with the highest lift among those holding at least
   ``min_support`` of its probability mass, if the lift is at least ``min_lift`` and that category
   holds at least ``min_purity`` of the class's mass; otherwise it stays unnamed.

A class is named only when the sounds that fire it are, by their own names, mostly of one
category: a wrong name on a predicted tag costs a user more than a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ClassAlignment:
    index: int
    tag: str | None
    purity: float  # share of the class's probability mass on sounds of that category
    lift: float  # purity / the category's share of all sounds
    support: float  # the class's probability mass on sounds of that category


def weak_categories(caption_vecs: np.ndarray, row_vecs: np.ndarray, row_categories: list[str],
                    min_similarity: float = 0.5) -> list[str | None]:
    """Each caption's nearest UCS row's category (unit vectors in), or None when none is close."""
    sims = np.asarray(caption_vecs, np.float32) @ np.asarray(row_vecs, np.float32).T
    best, score = sims.argmax(axis=1), sims.max(axis=1)
    return [row_categories[b] if s >= min_similarity else None for b, s in zip(best, score)]


def align(class_probs: np.ndarray, categories: list[str | None], min_support: float = 5.0,
          min_lift: float = 2.0, min_purity: float = 0.15) -> list[ClassAlignment]:
    """One :class:`ClassAlignment` per class of ``class_probs [N, C]`` (sounds × classes)."""
    probs = np.asarray(class_probs, np.float64)
    names = sorted({g for g in categories if g})
    if not names:
        return [ClassAlignment(c, None, 0.0, 0.0, 0.0) for c in range(probs.shape[1])]
    col = {g: i for i, g in enumerate(names)}
    onehot = np.zeros((len(categories), len(names)))
    for n, g in enumerate(categories):
        if g:
            onehot[n, col[g]] = 1.0
    labelled = onehot.any(axis=1)
    mass = probs[labelled].T @ onehot[labelled]  # [C, G]
    row, colsum, total = mass.sum(axis=1), mass.sum(axis=0), mass.sum()
    share = colsum / max(total, 1e-12)  # each category's share of the labelled sounds' mass
    out = []
    for c in range(probs.shape[1]):
        purity = mass[c] / max(row[c], 1e-12)
        lift = purity / np.maximum(share, 1e-12)
        lift = np.where(mass[c] >= min_support, lift, 0.0)
        g = int(lift.argmax())
        ok = lift[g] >= min_lift and purity[g] >= min_purity
        out.append(ClassAlignment(c, names[g].lower() if ok else None, round(float(purity[g]), 4),
                                  round(float(lift[g]), 3), round(float(mass[c, g]), 2)))
    return out
