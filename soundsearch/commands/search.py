"""Search commands: index, search (one query or a JSONL batch), similar."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from soundsearch.commands.terminal import clean, json_text
from soundsearch.jobs import Progress
from soundsearch.jobs import run as run_job
from soundsearch.library.catalog import display_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="scan the library (or the folders given) and embed every new or "
                                     "changed file")
    p.add_argument("dirs", nargs="*", type=Path, metavar="DIR",
                   help="folders to add and scan first (default: rescan every library folder)")
    p.add_argument("--no-scan", action="store_true",
                   help="embed what the catalog already holds, without looking at the folders")
    _model_args(p)
    p.add_argument("--batch", type=int, default=16, help="files per model batch (default 16)")
    p.add_argument("--follow-links", action="store_true",
                   help="also follow symlinked folders that lead outside the library folders")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="find sounds by description")
    p.add_argument("text", nargs="?", default="",
                   help='what you hear, e.g. "wooden door slam -music dur:<3"')
    p.add_argument("--queries", type=Path, metavar="FILE.jsonl",
                   help='batch: {"qid", "text"} per line in; {"qid", "ranked", "scores"} per line out')
    p.add_argument("--mode", choices=("hybrid", "audio", "metadata"), default="hybrid",
                   help="hybrid (default); audio: the sound only (no name or tag words, predicted "
                        "tags included); metadata: the words only")
    p.add_argument("--like", type=int, action="append", default=[], metavar="ID",
                   help="refine: move the query toward this file (repeatable)")
    p.add_argument("--dislike", type=int, action="append", default=[], metavar="ID",
                   help="refine: move the query away from this file (repeatable)")
    _output_args(p)
    _filter_args(p)
    _model_args(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("similar", help="find sounds like a library file (path or id) or any audio file")
    p.add_argument("target", help="an audio file, or a file id shown by `search`")
    p.add_argument("--by", choices=("all", "sound"), default="all",
                   help="all (default): what the file is, its sound and its words; "
                        "sound: what it sounds like, ignoring names and tags")
    _output_args(p)
    _filter_args(p)
    _model_args(p)
    p.set_defaults(func=cmd_similar)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help='model folder (default: the settings\' model, "default")')
    p.add_argument("--device", help="cpu, cuda, mps (default: the settings' device)")


def _output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=20, help="number of hits (default 20)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _filter_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters (also in the query: dur:<2 sr:48000 ch:1 format:wav folder:x cat:DOOR)")
    g.add_argument("--min-duration", type=float, metavar="S")
    g.add_argument("--max-duration", type=float, metavar="S")
    g.add_argument("--sample-rate", type=int, action="append", default=[], metavar="HZ")
    g.add_argument("--channels", type=int, action="append", default=[], metavar="N")
    g.add_argument("--format", action="append", default=[], metavar="EXT")
    g.add_argument("--folder", metavar="TEXT", help="absolute folder, or words of the folder path")
    g.add_argument("--category", metavar="UCS", help="UCS category, subcategory or CatID")
    g.add_argument("--require", action="append", default=[], metavar="WORD")
    g.add_argument("--exclude", action="append", default=[], metavar="WORD")


def _filters(args):
    from soundsearch.search import Filters

    return Filters(args.min_duration, args.max_duration, tuple(args.sample_rate), tuple(args.channels),
                   tuple(args.format), args.folder, args.category, tuple(args.require), tuple(args.exclude))


def open_session(args):
    """The session over the user's library with the model the settings (or --model/--device) ask
    for, loaded; or SystemExit with a message."""
    from soundsearch.library.catalog import CatalogError
    from soundsearch.model import ModelError
    from soundsearch.session import Session, with_overrides
    from soundsearch.settings import load_settings

    session = Session(with_overrides(load_settings(), args.model, args.device))
    try:
        session.roots()  # opens the catalog: a damaged one is told before seconds of model loading
        session.load_model()
    except (CatalogError, ModelError) as exc:
        raise SystemExit(f"soundsearch: {exc}") from exc
    return session


class ProgressLine:
    """One status line on stderr, redrawn at most every 0.2 s (every 5 s when not a terminal, so a
    log file stays readable)."""

    def __init__(self) -> None:
        self.last = 0.0
        self.tty = sys.stderr.isatty()
        self.waiting = ""

    def __call__(self, p: Progress) -> None:
        if p.stage == "wait":  # another soundsearch writes: say so once, on a line of its own
            if p.message != self.waiting:
                self.waiting = p.message
                print(("\r" if self.tty else "") + clean(p.message), file=sys.stderr, flush=True)
            return
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 5.0) and p.stage != "done":
            return
        self.last = now
        count = f"{p.done}/{p.total}" if p.total else f"{p.done}"
        eta = f" ETA {p.eta_seconds:.0f}s" if p.eta_seconds is not None and p.done else ""
        audio = f" {p.audio_seconds:.0f}s audio" if p.audio_seconds else ""
        line = f"{p.stage}: {count}{audio}{eta} {clean(p.message)}"[:110]  # the message may be a file name
        print(("\r" + line.ljust(110)) if self.tty else line, end="" if self.tty else "\n",
              file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty and self.last:
            print(file=sys.stderr)


def cmd_index(args) -> int:
    dirs = [d.expanduser() for d in args.dirs]
    missing = [d for d in dirs if not d.is_dir()]
    if missing:  # before loading the model: a mistyped folder should not cost seconds
        print(f"soundsearch: not a folder: {missing[0]}", file=sys.stderr)
        return 2
    session = open_session(args)
    if not dirs and not session.catalog.roots():
        print("soundsearch: the library is empty: give folders, e.g. `soundsearch index ~/Sounds`",
              file=sys.stderr)
        return 2
    line = ProgressLine()
    if dirs or not args.no_scan:
        # No folders given: every root is rescanned first, so moved, renamed and deleted files are
        # seen before embedding (an index that still lists a deleted file is the worse surprise).
        scanned = run_job(session.update_job(roots=dirs or None, index=False, near_copies=False,
                                             follow_links=args.follow_links or None), line).scan
        line.close()
        print(f"scan: {len(scanned.added)} new, {len(scanned.changed)} changed, {len(scanned.moved)} moved, "
              f"{len(scanned.deleted)} deleted, {scanned.unchanged} unchanged, {scanned.errors} errors "
              f"({scanned.files_per_second:.0f} files/s)")
    started = time.process_time()
    result = run_job(session.update_job(scan=False, near_copies=False, batch_size=args.batch), line).index
    line.close()
    cpu = time.process_time() - started
    for name, problem in result.problems.items():
        print(f"note: the {name} index was rebuilt from stored vectors ({problem})")
    secs = max(result.seconds, 1e-9)
    print(f"index: {result.files} files embedded ({result.embedded} with audio, {result.metadata_only} "
          f"metadata only, {result.errors} unusable), {result.refused} re-fused, {result.deleted} removed "
          f"in {result.seconds:.1f} s")
    if result.fields_added:
        print(f"       field vectors added to {result.fields_added} files indexed before them")
    if result.files:
        print(f"       {result.files / secs:.1f} files/s, {result.audio_seconds / secs:.1f} audio-s/s "
              f"({result.realtime_factor:.0f}x real time), CPU {100 * cpu / secs:.0f}% of one core")
    print(f"       {result.items} sounds searchable (model {session.model.model_id})")
    if result.errors:
        print("       `soundsearch errors` lists the files that could not be used")
    return 0


def _hit_json(hit) -> dict:
    r = hit.record
    return {"id": hit.file_id, "path": display_path(hit.path.absolute()), "score": round(hit.score, 5),
            "duration": r.duration, "sample_rate": r.sample_rate, "channels": r.channels,
            "format": r.format, "matched": hit.matched}


def _print_hits(hits, as_json: bool, query: str) -> None:
    if as_json:
        print(json_text({"query": query, "hits": [_hit_json(h) for h in hits]}))
        return
    if not hits:
        print("no matches")
    for rank, h in enumerate(hits, 1):
        dur = f"{h.record.duration:6.2f}s" if h.record.duration is not None else "      ?"
        print(f"{rank:3d}. {h.score:6.3f} {dur}  [{h.file_id}] {clean(display_path(h.path))}")
        if h.matched:
            print(f"        matched: {clean('; '.join(h.matched))}")


def cmd_search(args) -> int:
    if not args.text and not args.queries and not args.like:
        print("soundsearch: give a query text, --queries FILE.jsonl or --like ID", file=sys.stderr)
        return 2
    session = open_session(args)
    catalog, engine = session.catalog, session.engine
    for name, problem in engine.problems.items():
        print(f"note: the {name} index was rebuilt from stored vectors ({problem})", file=sys.stderr)
    if not catalog.count():
        print("soundsearch: the library is empty: run `soundsearch scan DIR` (or `index DIR`)",
              file=sys.stderr)
        return 1
    if len(engine) < catalog.count():
        # Scanned but not (all) embedded: names and tags still find those files.
        waiting = catalog.count() - len(engine)
        print(f"note: {waiting:,} of {catalog.count():,} sounds are not indexed with this model "
              f"({session.model.model_id}) yet: they are found by their names and tags only until "
              "`soundsearch index`", file=sys.stderr)
    filters = _filters(args)
    if args.queries:
        return _batch(engine, args, filters)
    hits = engine.search(args.text, k=args.k, filters=filters, mode=args.mode, liked=args.like,
                         disliked=args.dislike)
    _print_hits(hits, args.json, args.text)
    return 0


def _batch(engine, args, filters) -> int:
    """JSONL in, JSONL out; the model and index are loaded once for all queries."""
    source = sys.stdin if str(args.queries) == "-" else open(args.queries, encoding="utf-8")  # noqa: SIM115
    with source:
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                query = json.loads(line)
                qid, text = query["qid"], str(query["text"])
            except (ValueError, KeyError, TypeError) as exc:
                print(f"soundsearch: {args.queries}:{number}: bad query line ({exc})", file=sys.stderr)
                return 2
            hits = engine.search(text, k=args.k, filters=filters, mode=args.mode)
            print(json_text({"qid": qid, "ranked": [display_path(h.path.absolute()) for h in hits],
                             "scores": [round(h.score, 5) for h in hits]}), flush=True)
    return 0


def cmd_similar(args) -> int:
    engine = open_session(args).engine
    target: int | Path = Path(args.target).expanduser()
    if not target.exists() and args.target.isdigit():
        target = int(args.target)
    elif not target.exists():
        print(f"soundsearch: no such file: {args.target}", file=sys.stderr)
        return 2
    try:
        hits = engine.similar(target, k=args.k, filters=_filters(args), by=args.by)
    except (KeyError, ValueError) as exc:
        print(f"soundsearch: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    _print_hits(hits, args.json, str(args.target))
    return 0
