"""What ``soundsearch info`` and ``soundsearch stats`` print: the data (also the --json output) and
its human-readable form."""

from __future__ import annotations

import os
from pathlib import Path

from soundsearch.commands.terminal import clean
from soundsearch.library.catalog import Catalog, FileRecord, display_path


def _properties(obj) -> dict:
    return {name: getattr(obj, name, None) for name in
            ("format", "subtype", "duration", "sample_rate", "channels", "bit_depth", "frames")}


def _metadata(metadata) -> dict:
    return {"fields": [{"name": f.name, "value": f.value, "source": f.source} for f in metadata.fields],
            "text": metadata.text, "untagged": metadata.untagged, "errors": list(metadata.errors)}


def file_info(catalog: Catalog, path: Path, fresh: bool = False) -> dict:
    """A file as the catalog knows it, or read now when it is not catalogued (or ``fresh``)."""
    record = catalog.get_by_path(path)
    if record is not None and not fresh:
        return {**_from_record(record, catalog.index_errors(record.id)),
                "predicted_tags": _predicted(catalog, record.id)}
    from soundsearch.audio.errors import AudioError
    from soundsearch.audio.probe import probe
    from soundsearch.library.metadata import ReadContext, read_metadata

    root = catalog.root_of(path)
    metadata = read_metadata(Path(os.path.abspath(path)), ReadContext(root=root[1] if root else None))
    try:
        audio, status, error = probe(path), "ok", None
        if not audio.decodable:
            status, error = "metadata_only", audio.note
    except AudioError as exc:
        audio, status, error = None, "error", exc.reason
    return {
        "path": display_path(os.path.abspath(path)),
        "in_catalog": record is not None,
        "id": record.id if record else None,
        "root": display_path(root[1]) if root else None,
        "size": os.path.getsize(path),
        "status": status,
        "error": error,
        "note": audio.note if audio is not None and status == "ok" else "",
        "index_errors": catalog.index_errors(record.id) if record is not None else {},
        "properties": _properties(audio),
        "metadata": _metadata(metadata),
    }


def _predicted(catalog: Catalog, file_id: int) -> list[dict]:
    return [{"tag": t, "confidence": round(c, 3), "source": s} for s, t, c in catalog.predicted_tags(file_id)]


def _from_record(r: FileRecord, index_errors: dict[str, str]) -> dict:
    return {"path": display_path(r.path), "in_catalog": True, "id": r.id, "root": display_path(r.root),
            "size": r.size, "status": r.status, "error": r.error, "note": r.note,
            "index_errors": index_errors, "properties": _properties(r), "metadata": _metadata(r.metadata)}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:06.3f}" if minutes else f"{secs:.3f} s"


def format_info(info: dict) -> str:
    """Lines for a terminal: every value from the file (path, tags, reasons) is clean()ed."""
    p = info["properties"]
    lines = [clean(info["path"])]
    if info["in_catalog"]:
        lines.append(f"  catalogued (id {info['id']}, root {clean(info['root'])})")
    else:
        inside = f" (inside root {clean(info['root'])})" if info["root"] else ""
        lines.append("  not in the catalog" + inside)
    if p["format"]:
        depth = f", {p['bit_depth']} bit" if p["bit_depth"] else ""
        lines.append(f"  {p['format']} ({clean(p['subtype'] or '?')}), {p['sample_rate']} Hz, "
                     f"{p['channels']} ch{depth}, {_duration(p['duration'])}, {info['size']:,} bytes")
    lines.append(f"  status: {info['status']}" + (f" — {clean(info['error'])}" if info["error"] else ""))
    if info["note"]:
        lines.append(f"  note: {clean(info['note'])}")
    for model, error in info.get("index_errors", {}).items():
        lines.append(f"  audio not indexed: {clean(error)} (model {model.split('|')[0]}; "
                     "found by its metadata alone)")
    meta = info["metadata"]
    lines.append("metadata:" if meta["fields"] else "metadata: none")
    width = max((len(f["name"]) for f in meta["fields"]), default=0)
    for f in meta["fields"]:
        lines.append(f"  {f['name']:<{width}}  {clean(f['value'])}  [{clean(f['source'])}]")
    for error in meta["errors"]:
        lines.append(f"  (could not read {clean(error)})")
    lines.append(f"metadata text: {clean(meta['text'])}" if meta["text"] else
                 "metadata text: (none: untagged — search will rely on the audio alone)")
    predicted = info.get("predicted_tags") or []
    if predicted:  # heard in the audio by a model: shown apart from the file's own words
        sources = ", ".join(sorted({p["source"] for p in predicted}))
        lines.append(f"predicted from the audio ({sources}): "
                     + ", ".join(f"{p['tag']} {p['confidence']:.2f}" for p in predicted))
    return "\n".join(lines)


def _top(counts: dict, n: int = 8) -> str:
    items = list(counts.items())
    text = ", ".join(f"{k} ×{v:,}" for k, v in items[:n])
    return text + (f", … ({len(items) - n} more)" if len(items) > n else "") if items else "-"


def format_stats(s: dict) -> str:
    rows = [("files", f"{s['files']:,} ({s['hours']:.1f} hours, {s['bytes'] / 1e9:.2f} GB)"),
            ("formats", _top(s["formats"])),
            ("sample rates", _top(s["sample_rates"])),
            ("channels", _top(s["channels"])),
            ("untagged", f"{s['untagged']:,} (no metadata text: found by their sound alone)"),
            ("errors", f"{s['errors']:,}" + (" (soundsearch errors)" if s["errors"] else "")),
            ("metadata only", f"{s['metadata_only']:,} (properties and tags; the audio cannot be decoded)"),
            ("not embedded", f"{s.get('not_embedded', 0):,} (the indexer could not use their audio: "
                             "soundsearch errors --warnings)" if s.get("not_embedded") else "0")]
    lines = [f"{label + ':':<15}{value}" for label, value in rows]
    if s["roots"]:
        lines.append("roots:")
        lines += [f"  {clean(r['path'])}: {r['files']:,} files, {r['hours']:.1f} h, "
                  f"{r['untagged']:,} untagged, {r['errors']:,} errors" for r in s["roots"]]
    return "\n".join(lines)
