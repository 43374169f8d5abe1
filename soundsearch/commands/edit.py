"""Your metadata and your DAW: tag (catalog edits, undo/redo), write-tags (into the files, safely),
rename-ucs (previewed), export (converted copies with metadata). The same core calls as the app."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from soundsearch import paths
from soundsearch.commands.library import _catalog, _err, _out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tag", help="edit catalogued files' metadata (stored in the catalog, undoable)",
        description="Edit the metadata of catalogued files. Edits live in the catalog (the files are not "
                    "touched; see write-tags), replace what the files say for that field, are searchable at "
                    "once and survive rescans and moves. Fields: fxname, description, keywords, category, "
                    "subcategory, catid, designer, recordist, library.")
    p.add_argument("files", nargs="*", type=Path, metavar="FILE")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="set a field")
    p.add_argument("--append", action="append", default=[], metavar="FIELD=VALUE",
                   help="add to a field (keywords: add words)")
    p.add_argument("--add-keywords", action="append", default=[], metavar="W,W", help="add keywords")
    p.add_argument("--replace", nargs=3, action="append", default=[], metavar=("FIELD", "FIND", "REPLACE"),
                   help="find and replace (plain text, any case) in a field")
    p.add_argument("--clear", action="append", default=[], metavar="FIELD",
                   help="hide the field (the file's own value too)")
    p.add_argument("--revert", action="append", default=[], metavar="FIELD",
                   help="forget your edit of the field (the file's own value shows again)")
    p.add_argument("--undo", action="store_true", help="undo the last change (edit or rename)")
    p.add_argument("--redo", action="store_true", help="redo the last undone change")
    p.add_argument("--history", action="store_true", help="list recent changes")
    p.add_argument("--no-refresh", action="store_true",
                   help="do not re-embed the edited text now (the next `index` does it)")
    p.set_defaults(func=cmd_tag)

    p = sub.add_parser(
        "write-tags", help="embed the catalog's fields into the files (safe: verified copy, atomic swap)",
        description="Write each file's fields (as the catalog shows them, edits included) into the file: "
                    "bext+iXML for WAV, Vorbis comments for FLAC/Ogg, ID3 for MP3/AIFF, MP4 atoms for M4A. "
                    "A copy is written and verified (audio samples identical, fields read back) before it "
                    "replaces the original; read-only files and files changed since the scan are refused.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--keep-times", action="store_true", help="keep the files' modification times")
    p.set_defaults(func=cmd_write_tags)

    p = sub.add_parser("rename-ucs", help="rename files to UCS names (CatID_FXName_CreatorID_SourceID)",
                       description="Show the UCS names the files would get; --apply renames them (in their "
                                   "folders, never over another file; `tag --undo` renames them back).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--creator", default="", metavar="ID", help="CreatorID (default: the file's, or USER)")
    p.add_argument("--source", default="", metavar="ID", help="SourceID (default: the file's, or SRC)")
    p.add_argument("--apply", action="store_true", help="rename (default: only show the plan)")
    p.set_defaults(func=cmd_rename)

    p = sub.add_parser("export", help="converted copies for a DAW session, with their metadata",
                       description="Copy sounds into DIR, converted as asked, carrying their metadata "
                                   "(WAV: bext description and iXML). OGG/MP3/M4A become WAV "
                                   "unless --format says otherwise.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--to", type=Path, required=True, metavar="DIR")
    p.add_argument("--format", choices=("original", "wav", "aiff", "flac"), default="original")
    p.add_argument("--rate", type=int, metavar="HZ", help="sample rate (default: as the source)")
    p.add_argument("--bits", choices=("original", "16", "24", "32f"), default="original")
    p.add_argument("--channels", type=int, choices=(1, 2), help="mix to mono or stereo")
    p.add_argument("--start", type=float, metavar="S", help="region start, seconds")
    p.add_argument("--end", type=float, metavar="S", help="region end, seconds")
    p.add_argument("--handles", type=float, default=0.0, metavar="S", help="extra seconds around the region")
    p.add_argument("--fade", type=float, default=0.005, metavar="S",
                   help="fade where a region cuts (0: none)")
    p.add_argument("--no-dither", action="store_true",
                   help="round instead of TPDF dither when reducing depth")
    p.add_argument("--name", default=None, metavar="PATTERN",
                   help="file name pattern: {stem} {n} {catid} {fxname} {rate} {bits} {start} {end}")
    p.set_defaults(func=cmd_export)


def _records(catalog, files: list[Path]) -> tuple[list, list[str]]:
    records, missing = [], []
    for f in files:
        r = catalog.get_by_path(f)
        (records.append(r) if r is not None else missing.append(str(f)))
    return records, missing


def _ops(args):
    from soundsearch.library.user_edits import BatchOp

    ops = []
    for kind, items in (("set", args.set), ("append", args.append)):
        for item in items:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--{kind} needs FIELD=VALUE, got {item!r}")
            ops.append(BatchOp(kind, name, value))
    ops += [BatchOp("append", "keywords", words) for words in args.add_keywords]
    ops += [BatchOp("replace", name, repl, find=find) for name, find, repl in args.replace]
    ops += [BatchOp("clear", name) for name in args.clear]
    return ops


def _describe(entry) -> str:
    what = "renamed" if entry.kind == "rename" else "edited"
    return f"{entry.label} ({what} {entry.files} file{'s' if entry.files != 1 else ''})"


def cmd_tag(args: argparse.Namespace) -> int:
    from soundsearch.library.user_edits import EditError, check_field, plan_batch

    with _catalog() as catalog:
        if args.history:
            for e in catalog.history():
                _out(f"{'(undone) ' if e.undone else ''}{_describe(e)}")
            return 0
        if args.undo or args.redo:
            entry = catalog.undo() if args.undo else catalog.redo()
            if entry is None:
                _out(f"nothing to {'undo' if args.undo else 'redo'}")
                return 0
            _out(f"{'undid' if args.undo else 'redid'}: {_describe(entry)}")
            return _refresh(catalog, args)
        records, missing = _records(catalog, args.files)
        for m in missing:
            _err(f"not in the catalog (scan its folder first): {m}")
        try:
            ops = _ops(args)
            reverts = [check_field(n) for n in args.revert]
        except (EditError, ValueError) as exc:
            _err(str(exc))
            return 2
        if not ops and not reverts:
            _err("nothing to do: give --set, --append, --add-keywords, --replace, --clear or --revert")
            return 2
        changes = plan_batch(records, ops)
        for r in records:
            if reverts:
                edits = changes.get(r.id, r.edits)
                changes[r.id] = {k: v for k, v in edits.items() if k not in reverts}
        label = "; ".join(f"{o.kind} {o.name}" for o in ops) or "revert " + ", ".join(reverts)
        entry = catalog.set_edits(changes, label)
        _out(f"edited {entry.files if entry else 0} of {len(records)} files"
             + (" (undo: soundsearch tag --undo)" if entry else ""))
        code = _refresh(catalog, args) if entry else 0
    return 1 if missing else code


def _refresh(catalog, args) -> int:
    """Re-embed the changed metadata texts now, when there is an index to keep in step."""
    if args.no_refresh or not paths.index_dir().is_dir():
        return 0
    from soundsearch.jobs import run
    from soundsearch.model import ModelError
    from soundsearch.session import Session
    from soundsearch.settings import load_settings

    session = Session(load_settings(), catalog.path)
    try:
        session.load_model()
    except ModelError as exc:
        _err(f"edits saved; the search vectors are refreshed by the next `soundsearch index` ({exc})")
        return 0
    result = run(session.reembed_job())
    if result.refused:
        _out(f"search text re-embedded for {result.refused} files")
    return 0


def cmd_write_tags(args: argparse.Namespace) -> int:
    from soundsearch.library.tagging import TagWriteError, write_record

    failed = 0
    with _catalog() as catalog:
        records, missing = _records(catalog, args.files)
        for m in missing:
            _err(f"not in the catalog (scan its folder first): {m}")
        for r in records:
            try:
                outcome = write_record(catalog, r, keep_times=args.keep_times)
            except TagWriteError as exc:
                failed += 1
                _err(f"{r.path}: not written: {exc} (the file is unchanged)")
                continue
            _out(f"{outcome.path}: wrote {', '.join(outcome.fields)} (audio verified identical, "
                 f"{outcome.verified})")
    return 1 if failed or missing else 0


def cmd_rename(args: argparse.Namespace) -> int:
    from soundsearch.library.rename import apply_rename, plan_rename

    with _catalog() as catalog:
        records, missing = _records(catalog, args.files)
        for m in missing:
            _err(f"not in the catalog (scan its folder first): {m}")
        plans = plan_rename(records, args.creator, args.source)
        for p in plans:
            _out(f"{p.old.name}  →  {p.new.name}" if p.changes else f"{p.old.name}: {p.problem}")
            for side, new_side in p.sidecars:
                _out(f"  (with {side.name}  →  {new_side.name})")
        if not args.apply:
            if any(p.changes for p in plans):
                _out("(a preview: add --apply to rename)")
            return 0
        entry, failures = apply_rename(catalog, plans)
        for path, reason in failures:
            _err(f"{path}: not renamed: {reason}")
        if entry is not None:
            _out(f"renamed {entry.files} files (undo: soundsearch tag --undo)")
    return 1 if failures or missing else 0


def cmd_export(args: argparse.Namespace) -> int:
    from soundsearch.audio.convert import ConvertOptions
    from soundsearch.jobs import run
    from soundsearch.library.export import ExportItem, export_files

    options = ConvertOptions(args.format, args.rate, args.bits, args.channels, args.start, args.end,
                             args.handles, args.fade, not args.no_dither)
    if args.end is not None and args.start is None:
        options.start = 0.0
    items = []
    with _catalog() as catalog:
        for f in args.files:
            if not os.path.isfile(f):
                _err(f"not a file: {f}")
                continue
            r = catalog.get_by_path(f)
            items.append(ExportItem(Path(f), r.metadata if r else None, r.edits if r else {}))
    try:
        result = run(export_files(items, args.to, options, args.name))
    except ValueError as exc:
        _err(str(exc))
        return 2
    for path in result.written:
        _out(str(path))
    for path, reason in result.failed:
        _err(f"{path}: not exported: {reason}")
    return 1 if result.failed or len(items) < len(args.files) else 0
