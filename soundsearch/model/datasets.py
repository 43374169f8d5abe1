"""Training and evaluation data: ClothoV2 and AudioCaps layouts, and a user's own sounds.

Every source becomes a list of :class:`Item`: one audio file, the captions that describe it (the
query side), its metadata text (the item side, "" if none), a group (split or package) and labels
(relevance classes for multi-positive evaluation).

For a user's library there are no human captions, only what the files say about themselves. The
caption must not simply equal the metadata text, or late fusion learns to copy text to text and the
audio branch learns nothing. So, as the paper keeps query and metadata apart: the captions are
*derived views* of the descriptive fields (the name's words, the category, the folder words, a
description — each alone, without package names, ids and structural folders), while the metadata
input is the full metadata text the app embeds at run time, dropped out at random in training.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".aif", ".aiff", ".flac", ".ogg", ".oga", ".opus", ".mp3"})


@dataclass
class Item:
    audio: Path
    captions: list[str]
    metadata: str = ""
    group: str = ""  # split ("train", "val", "test") or package / top-level folder
    labels: tuple[str, ...] = ()


# Words that describe where a file sits in a game's or vendor's tree, not what it sounds like.
STRUCTURAL = frozenset(str.split("""
    sound sounds snd sfx audio data wav ogg mp3 flac aif aiff default mods mod games game core techs
    megapack factions faction units unit common released under gpl cc by sa license licence copyright
    buckle etr tux world critters minetest megaglest hedgewars wesnoth widelands colobot bucklespring
    supertuxkart extremetuxracer frozen bubble pingus 0ad misc various other new old2 final commondata
    tilesets pl ru uk es de fr it nl pt cs sv fi hu jp
"""))
# Abbreviations game and library authors use in names; a caption says what they mean.
ABBREVIATIONS = {
    "fs": "footstep", "hstep": "footstep", "singlesteps": "single steps", "amb": "ambience",
    "sel": "select", "ack": "acknowledge", "atk": "attack", "expl": "explosion", "fx": "effect",
    "vo": "voice", "mus": "music", "bg": "background", "lp": "loop", "sw": "swoosh", "imp": "impact",
}
_TOKEN = re.compile(r"[a-z]+")
_CAPTION_FIELDS = ("fxname", "title", "description", "category", "subcategory", "keywords",
                   "name_words", "folder_words", "ucs_synonyms")


def content_words(text: str, drop: Iterable[str] = ()) -> list[str]:
    """Lowercase alphabetic words of ``text`` minus structural ones and ``drop`` (package names),
    first occurrence order."""
    drop = set(drop)
    out: list[str] = []
    for w in _TOKEN.findall(text.lower()):
        if len(w) > 1 and w not in STRUCTURAL and w not in drop:
            out += [x for x in ABBREVIATIONS.get(w, w).split() if x not in out]
    return out


def package_words(group: str) -> set[str]:
    return set(_TOKEN.findall(group.lower()))


def captions_from_fields(fields: dict[str, list[str]], drop: Iterable[str] = ()) -> list[str]:
    """Caption views of a file's metadata fields (each a short phrase), most specific first."""
    drop = set(drop)

    def words(*names: str, limit: int = 12) -> str:
        got: list[str] = []
        for name in names:
            for value in fields.get(name, []):
                got += [w for w in content_words(value, drop) if w not in got]
        return " ".join(got[:limit])

    folder = fields.get("folder_words", [""])[0]
    views = [
        words("fxname", "title", "name_words"),
        words("description", limit=24),
        words("category", "subcategory", "ucs_synonyms"),
        words("keywords"),
        # The nearest two folders plus the name: "animals bird", "footstep gravel".
        " ".join(content_words(" ".join(folder.split()[:2]), drop) + content_words(
            " ".join(fields.get("name_words", [])), drop)),
    ]
    out: list[str] = []
    for v in views:
        if v and v not in out:
            out.append(v)
    return out


def label_of(fields: dict[str, list[str]], drop: Iterable[str] = ()) -> str:
    """Relevance class for evaluation: the name's content words (take numbers already dropped),
    falling back to the nearest folder."""
    name = content_words(" ".join(fields.get("fxname", []) + fields.get("name_words", [])), drop)
    if name:
        return " ".join(name)
    folder = content_words(" ".join(fields.get("folder_words", [""])[0].split()[:1]), drop)
    return " ".join(folder)


def library_items(root: Path, groups: Iterable[str] | None = None,
                  exclude_groups: Iterable[str] = ()) -> list[Item]:
    """Every audio file under ``root``; group = the top-level folder (a package or a vendor
    library), so whole groups can be held out."""
    from soundsearch.library.metadata import ReadContext, read_metadata

    root = Path(root)
    wanted, excluded = (set(groups) if groups is not None else None), set(exclude_groups)
    ctx = ReadContext(root=root)
    items: list[Item] = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()):
        group = path.relative_to(root).parts[0] if path.parent != root else ""
        if (wanted is not None and group not in wanted) or group in excluded:
            continue
        meta = read_metadata(path, ctx)
        items.append(_library_item(path, group, meta))
    return items


def _library_item(path: Path, group: str, meta) -> Item:
    fields: dict[str, list[str]] = {}
    for f in meta.fields:
        if f.name in _CAPTION_FIELDS:
            fields.setdefault(f.name, []).append(f.value)
    drop = package_words(group)
    captions = captions_from_fields(fields, drop)
    label = label_of(fields, drop)
    return Item(path, captions, meta.text, group, (label,) if label else ())


def catalog_items(catalog) -> list[Item]:
    """A user's catalog (soundsearch.library.catalog.Catalog): decodable files with metadata."""
    items = []
    for rec in catalog.iter_files():
        if rec.status != "ok" or rec.metadata is None or rec.metadata.untagged:
            continue
        rel = Path(rec.path).relative_to(rec.root)
        group = rel.parts[0] if len(rel.parts) > 1 else ""
        item = _library_item(Path(rec.path), group, rec.metadata)
        if item.captions:
            items.append(item)
    return items


def _read_csv(path: Path) -> list[dict[str, str]]:
    # Clotho's metadata sheets are not all UTF-8; a replaced character beats a crash.
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        return list(csv.DictReader(fh))


CLOTHO_SPLITS = {"development": "train", "validation": "val", "evaluation": "test"}


def clotho_items(root: Path) -> list[Item]:
    """ClothoV2: ``<split>/*.wav`` + ``clotho_captions_<split>.csv`` (file_name, caption_1..5) +
    ``clotho_metadata_<split>.csv`` (file_name, keywords separated by ';')."""
    root, items = Path(root), []
    for split, group in CLOTHO_SPLITS.items():
        cap_path = root / f"clotho_captions_{split}.csv"
        if not cap_path.is_file():
            continue
        meta_path = root / f"clotho_metadata_{split}.csv"
        keywords = {r["file_name"]: r.get("keywords", "")
                    for r in (_read_csv(meta_path) if meta_path.is_file() else [])}
        for row in _read_csv(cap_path):
            audio = root / split / row["file_name"]
            captions = [row[k].strip() for k in sorted(row) if k.startswith("caption") and row[k].strip()]
            if not audio.is_file() or not captions:
                log.warning("clotho: skipping %s (no audio or captions)", audio)
                continue
            kw = " ".join(k.strip() for k in keywords.get(row["file_name"], "").split(";") if k.strip())
            items.append(Item(audio, captions, kw, group))
    if not items:
        raise FileNotFoundError(f"{root}: no clotho_captions_*.csv with audio found")
    return items


def _audioset_tags(root: Path) -> dict[str, str]:
    """Optional closed-set tags: ``audioset_labels.csv`` (youtube_id, labels with display names or
    mids separated by ';' or ',') next to the AudioCaps CSVs."""
    path = root / "audioset_labels.csv"
    if not path.is_file():
        return {}
    names = _audioset_names()
    out = {}
    for row in _read_csv(path):
        raw = re.split(r"[;,]", row.get("labels") or row.get("positive_labels") or "")
        tags = " ".join(names.get(t.strip(), t.strip()) for t in raw if t.strip())
        out[row.get("youtube_id") or row.get("YTID", "")] = tags
    return out


def _audioset_names() -> dict[str, str]:
    from soundsearch import paths

    name = "class_labels_indices.csv"
    for candidate in (paths.resources_dir() / "audioset" / name,
                      Path(__file__).resolve().parents[3] / "shared" / "data" / "audioset" / name):
        if candidate.is_file():
            return {r["mid"]: r["display_name"] for r in _read_csv(candidate)}
    return {}


def audiocaps_items(root: Path) -> list[Item]:
    """AudioCaps: ``{train,val,test}.csv`` (audiocap_id, youtube_id, start_time, caption) and the
    audio in ``<split>/`` named by youtube_id (optionally with the start time) or audiocap_id."""
    root, items = Path(root), []
    tags = _audioset_tags(root)
    for split in ("train", "val", "test"):
        csv_path = root / f"{split}.csv"
        if not csv_path.is_file():
            continue
        folder = root / split if (root / split).is_dir() else root
        files = {p.stem: p for p in folder.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS}
        by_audio: dict[Path, list[str]] = {}
        ytid_of: dict[Path, str] = {}
        for row in _read_csv(csv_path):
            yt, start = row["youtube_id"], row.get("start_time", "")
            audio = next((files[k] for k in (yt, f"Y{yt}", f"{yt}_{start}", f"{yt}_{start}.000",
                                             row.get("audiocap_id", "")) if k in files), None)
            if audio is None:
                continue
            by_audio.setdefault(audio, []).append(row["caption"].strip())
            ytid_of[audio] = yt
        items += [Item(a, caps, tags.get(ytid_of[a], ""), split) for a, caps in by_audio.items()]
    if not items:
        raise FileNotFoundError(f"{root}: no AudioCaps CSVs with matching audio found")
    return items


DATASETS = ("clotho", "audiocaps", "library", "catalog")  # what load_items reads
CAPTIONED = ("clotho", "audiocaps")  # one positive per caption, fixed train/val/test groups


def load_items(kind: str, path: Path) -> list[Item]:
    if kind == "clotho":
        return clotho_items(path)
    if kind == "audiocaps":
        return audiocaps_items(path)
    if kind in ("library", "folder"):
        return [it for it in library_items(path) if it.captions]
    if kind == "catalog":
        from soundsearch.library.catalog import Catalog

        return catalog_items(Catalog(path))
    raise ValueError(f"unknown dataset kind {kind!r} (clotho, audiocaps, library, catalog)")
