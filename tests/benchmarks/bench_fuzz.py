"""Fuzz run: random byte damage to audio headers, chunks and tags, sidecars and sheets, index files
and the catalog; counts hangs, crashes, tracebacks and changed audio.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_fuzz.py [--cases 2000] [--state-cases 200] [--seed 16]

File cases: a small valid file of each kind (WAV with bext/INFO/iXML chunks, FLAC and Ogg with
Vorbis comments, MP3 with ID3, AIFF, and JSON/TXT/XML sidecars and a CSV sheet beside a WAV) is
damaged (bytes flipped, a range overwritten, a chunk or tag size forged, cut short, bytes
inserted) and read the way a scan and an index job read it: read_ends + probe + read_metadata
(the scanner's ``examine``) and ``load`` (the indexer's decode). They run in a child process with a
time budget per file, so that a crash or a hang is counted, not suffered:

- hang: a file still being read after --budget seconds (the child is stopped with SIGALRM);
- crash: the child died from a signal (SIGSEGV …) on a file;
- traceback: an exception other than the documented AudioError escaped probe or load, or any
  exception escaped examine (it must never raise for a bad file);
- changed: a library file whose bytes differ after reading (the library is only ever read).

State cases: a small library is scanned and indexed (tiny model) once; each case damages a copy
of its items.hnsw, items.json, catalog.sqlite3 or collections.json and runs ``search``, ``stats``,
``errors --warnings`` and ``index --no-scan`` through the CLI's main() in a child: crash, hang,
traceback (an exception out of main) and exit codes other than 0/1/3 are counted.
Prints the counts; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

FILE_KINDS = ("wav", "flac", "mp3", "ogg", "aiff", "sidecar-json", "sidecar-txt", "sidecar-xml", "sheet")
STATE_KINDS = ("hnsw", "hnsw-json", "catalog", "collections")


# ---- seeds ---------------------------------------------------------------------------------------
def _tone(seconds: float = 0.4, sr: int = 22050, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    return np.stack([x, 0.5 * x], axis=1) if channels == 2 else x


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def seed_bytes(kind: str) -> bytes:
    buf = io.BytesIO()
    if kind in ("wav", "sidecar-json", "sidecar-txt", "sidecar-xml", "sheet"):
        sf.write(buf, _tone(), 22050, format="WAV", subtype="PCM_24")
        data = buf.getvalue()
        bext = b"door slam wooden heavy".ljust(256, b"\0") + b"soundsearch".ljust(32, b"\0") + bytes(314)
        info = b"INFO" + _chunk(b"INAM", b"Door Slam\0") + _chunk(b"ICMT", b"heavy wooden door\0")
        ixml = b"<BWFXML><USER><FXNAME>Door slam</FXNAME><CATEGORY>DOORS</CATEGORY></USER></BWFXML>"
        extra = _chunk(b"bext", bext) + _chunk(b"LIST", info) + _chunk(b"iXML", ixml)
        out = bytearray(data + extra)
        struct.pack_into("<I", out, 4, len(out) - 8)
        return bytes(out)
    if kind == "aiff":
        sf.write(buf, _tone(), 22050, format="AIFF", subtype="PCM_16")
        return buf.getvalue()
    if kind in ("flac", "ogg"):
        sf.write(buf, _tone(), 22050, format="FLAC" if kind == "flac" else "OGG")
        return _with_vorbis_tags(buf.getvalue(), kind)
    if kind == "mp3":
        sf.write(buf, _tone(channels=1), 22050, format="MP3")
        return _with_id3(buf.getvalue())
    raise ValueError(kind)


def _with_vorbis_tags(data: bytes, kind: str) -> bytes:
    from mutagen.flac import FLAC
    from mutagen.oggvorbis import OggVorbis

    with tempfile.NamedTemporaryFile(suffix="." + kind) as tmp:
        tmp.write(data)
        tmp.flush()
        f = FLAC(tmp.name) if kind == "flac" else OggVorbis(tmp.name)
        f["TITLE"], f["DESCRIPTION"], f["KEYWORDS"] = "Glass break", "small glass shatter", "glass, break"
        f.save()
        return Path(tmp.name).read_bytes()


def _with_id3(data: bytes) -> bytes:
    from mutagen.id3 import COMM, ID3, TIT2, TXXX

    with tempfile.NamedTemporaryFile(suffix=".mp3") as tmp:
        tmp.write(data)
        tmp.flush()
        tags = ID3()
        tags.add(TIT2(encoding=3, text="Dog bark"))
        tags.add(COMM(encoding=3, lang="eng", desc="", text="loud dog barking outside"))
        tags.add(TXXX(encoding=3, desc="KEYWORDS", text="dog, bark, animal"))
        tags.save(tmp.name)
        return Path(tmp.name).read_bytes()


SIDECARS = {
    "sidecar-json": ("door.json", b'{"description": "heavy door slam", "keywords": ["door", "slam"]}'),
    "sidecar-txt": ("door.txt", b"heavy wooden door slam, reverberant hall"),
    "sidecar-xml": ("door.xml", b"<sound><description>heavy door slam</description><name>Door</name>"
                                b"</sound>"),
    "sheet": ("sheet.csv", b"Filename,Description,Keywords\ndoor.wav,heavy door slam,door;slam\n"),
}


# ---- damage --------------------------------------------------------------------------------------
def _hot_spots(data: bytes) -> list[int]:
    """Offsets of chunk/tag/page headers: where damage hurts parsers most."""
    spots = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40]
    for magic in (b"fmt ", b"data", b"bext", b"LIST", b"iXML", b"INAM", b"COMM", b"SSND", b"fLaC", b"OggS",
                  b"vorbis", b"ID3", b"TIT2", b"TXXX", b"Xing", b"Info", b"\xff\xfb", b"\xff\xf3"):
        start = 0
        while (pos := data.find(magic, start)) >= 0 and len(spots) < 400:
            spots += [pos, pos + len(magic), pos + len(magic) + 4]
            start = pos + 1
    return [s for s in spots if s < len(data)] or [0]


def damage(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    out = bytearray(data)
    if not out:
        return bytes(rng.randbytes(rng.randint(1, 64))), "random"
    spot = rng.choice(_hot_spots(data)) if rng.random() < 0.7 else rng.randrange(len(out))
    op = rng.choice(("flip", "flip", "range", "size", "size", "cut", "insert", "ff", "zero"))
    if op == "flip":
        for _ in range(rng.randint(1, 8)):
            near = rng.random() < 0.7
            pos = min(len(out) - 1, spot + rng.randint(0, 16)) if near else rng.randrange(len(out))
            out[pos] ^= 1 << rng.randrange(8)
    elif op == "range":
        n = rng.randint(1, 64)
        out[spot:spot + n] = rng.randbytes(n)
    elif op == "size":  # a forged 4-byte length, little or big endian, huge or tiny
        value = rng.choice((0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFF0, rng.randrange(1 << 32), len(out) * 3))
        out[spot:spot + 4] = struct.pack("<I" if rng.random() < 0.5 else ">I", value)
    elif op == "cut":
        del out[rng.randrange(len(out)):]
    elif op == "insert":
        out[spot:spot] = rng.randbytes(rng.randint(1, 200))
    elif op == "ff":
        out[spot:spot + rng.randint(4, 5000)] = b"\xff" * rng.randint(4, 5000)
    else:
        out[spot:spot + rng.randint(4, 2000)] = bytes(rng.randint(4, 2000))
    return bytes(out), op


# ---- file cases (child side) ---------------------------------------------------------------------
def child_files(listing: Path, start: int, budget: float) -> None:
    """Read each listed file as a scan and an index job do; print "index result detail" per file."""
    from soundsearch.audio.decode import load
    from soundsearch.audio.errors import AudioError
    from soundsearch.audio.probe import probe
    from soundsearch.library.examine import examine
    from soundsearch.library.metadata import ReadContext
    from soundsearch.library.scan_plan import Task

    def on_alarm(signum, frame):
        raise TimeoutError("budget")

    signal.signal(signal.SIGALRM, on_alarm)
    cases = json.loads(listing.read_text())
    for n in range(start, len(cases)):
        path, root = cases[n]
        print(f"{n} start", flush=True)
        started = time.monotonic()
        result, detail = "ok", ""
        signal.alarm(int(budget))
        try:
            st = os.stat(path)
            task = Task("new", path, os.fsencode(path), 1, st.st_size, st.st_mtime_ns)
            try:
                examine(task, ReadContext(root=Path(root)))
            except TimeoutError:
                raise
            except Exception as exc:  # noqa: BLE001 — examine must never raise for a bad file
                result, detail = "traceback", f"examine {type(exc).__name__}: {exc}"[:200]
            if result == "ok" and path.endswith((".wav", ".flac", ".mp3", ".ogg", ".aiff")):
                try:
                    probe(path)
                    load(path, 16000, max_seconds=30.0)
                except AudioError:
                    pass
                except TimeoutError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    result, detail = "traceback", f"decode {type(exc).__name__}: {exc}"[:200]
        except TimeoutError:
            result, detail = "hang", f"still reading after {budget:.0f} s"
        finally:
            signal.alarm(0)
        print(f"{n} {result} {time.monotonic() - started:.3f} {detail}", flush=True)


def run_files(cases: list[tuple[str, str]], workdir: Path, budget: float) -> dict:
    listing = workdir / "cases.json"
    listing.write_text(json.dumps(cases))
    counts = {"ok": 0, "hang": 0, "crash": 0, "traceback": 0, "slowest_s": 0.0}
    examples: dict[str, list[str]] = {}
    start = 0
    while start < len(cases):
        proc = subprocess.run([sys.executable, __file__, "--child-files", str(listing), str(start),
                               str(budget)], capture_output=True, text=True)
        last_started, done = None, set()
        for line in proc.stdout.splitlines():
            parts = line.split(" ", 3)
            n, what = int(parts[0]), parts[1]
            if what == "start":
                last_started = n
                continue
            done.add(n)
            counts[what] += 1
            counts["slowest_s"] = max(counts["slowest_s"], float(parts[2]))
            if what != "ok":
                examples.setdefault(what, []).append(f"{cases[n][0]}: {parts[3] if len(parts) > 3 else ''}")
        if proc.returncode == 0:
            break
        crashed = last_started if last_started is not None and last_started not in done else start
        counts["crash"] += 1
        examples.setdefault("crash", []).append(f"{cases[crashed][0]}: exit {proc.returncode}")
        start = crashed + 1
    counts["examples"] = {k: v[:5] for k, v in examples.items()}
    return counts


# ---- state cases ---------------------------------------------------------------------------------
def child_state(home: str, model: str, argv_json: str) -> None:
    """Run CLI commands in this (damaged) home; print one line per command."""
    os.environ["SOUNDSEARCH_HOME"] = home
    from soundsearch.cli import main

    for argv in json.loads(argv_json):
        err = io.StringIO()
        real_err, real_out = sys.stderr, sys.stdout
        sys.stderr, sys.stdout = err, io.StringIO()
        try:
            code = main(argv + (["--model", model] if argv[0] in ("search", "index") else []))
            result = "ok" if code in (0, 1, 3) else f"exit{code}"
        except SystemExit as exc:
            result = "ok" if exc.code in (0, 1, 3, None) or isinstance(exc.code, str) else f"exit{exc.code}"
        except BaseException as exc:  # noqa: BLE001 — counted: an exception out of main is a traceback
            result = f"traceback:{type(exc).__name__}:{str(exc)[:120]}"
        finally:
            sys.stderr, sys.stdout = real_err, real_out
        if "Traceback" in err.getvalue():
            result = "traceback:printed"
        print(f"FUZZ {argv[0]} {result}", flush=True)


def build_state(workdir: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from search_helpers import index, make_library, scan

    from soundsearch.collections import Collections, Member
    from soundsearch.library.catalog import Catalog
    from soundsearch.model import build_tiny_model
    from soundsearch.model.checkpoint import collect_state, save_checkpoint

    home = workdir / "home"
    os.environ["SOUNDSEARCH_HOME"] = str(home)
    lib = make_library(workdir / "state-library")
    model = build_tiny_model(seed=0)
    with Catalog(home / "data" / "catalog.sqlite3") as catalog:
        scan(catalog, lib)
        index(catalog, model)
        first = next(catalog.iter_files())
    Collections(home / "data" / "collections.json").add("Doors", [Member(first.id, first.path)])
    model_dir = workdir / "model"
    state = collect_state(model.head, model.audio_encoder, model.text_encoder)
    save_checkpoint(model_dir, model.config, state)
    return home, model_dir


def run_state(n_cases: int, rng: random.Random, workdir: Path, budget: float) -> dict:
    pristine, model_dir = build_state(workdir)
    counts: dict = {"ok": 0, "hang": 0, "crash": 0, "traceback": 0, "bad_exit": 0}
    examples: list[str] = []
    targets = {"hnsw": "data/index/items.hnsw", "hnsw-json": "data/index/items.json",
               "catalog": "data/catalog.sqlite3", "collections": "data/collections.json"}
    commands = [["search", "door slam"], ["stats"], ["errors", "--warnings"], ["index", "--no-scan"],
                ["search", "glass"]]
    for n in range(n_cases):
        kind = STATE_KINDS[n % len(STATE_KINDS)]
        home = workdir / f"state-{n}"
        shutil.copytree(pristine, home)
        target = home / targets[kind]
        data, op = damage(target.read_bytes(), rng)
        target.write_bytes(data)
        try:
            proc = subprocess.run([sys.executable, __file__, "--child-state", str(home), str(model_dir),
                                   json.dumps(commands)], capture_output=True, text=True,
                                  timeout=budget * len(commands) + 60)
        except subprocess.TimeoutExpired:
            counts["hang"] += 1
            examples.append(f"{kind}/{op}: hang")
            shutil.rmtree(home, ignore_errors=True)
            continue
        lines = [ln[5:] for ln in proc.stdout.splitlines() if ln.startswith("FUZZ ")]
        if proc.returncode < 0:
            counts["crash"] += 1
            examples.append(f"{kind}/{op}: signal {-proc.returncode} after {lines}")
        for line in lines:
            what = line.split(" ", 1)[1]
            if what == "ok":
                counts["ok"] += 1
            elif what.startswith("traceback"):
                counts["traceback"] += 1
                examples.append(f"{kind}/{op}: {line}")
            else:
                counts["bad_exit"] += 1
                examples.append(f"{kind}/{op}: {line}")
        shutil.rmtree(home, ignore_errors=True)
    counts["examples"] = examples[:8]
    return counts


# ---- main ----------------------------------------------------------------------------------------
def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-files":
        return child_files(Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    if len(sys.argv) > 1 and sys.argv[1] == "--child-state":
        return child_state(sys.argv[2], sys.argv[3], sys.argv[4])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="damaged files (default 2000)")
    parser.add_argument("--state-cases", type=int, default=200, help="damaged index/catalog states")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per file before a hang")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seeds = {k: seed_bytes(k) for k in FILE_KINDS}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ss-fuzz-") as tmp:
        workdir = Path(tmp)
        lib = workdir / "library"
        cases, ops, before = [], {}, {}
        for n in range(args.cases):
            kind = FILE_KINDS[n % len(FILE_KINDS)]
            folder = lib / f"case{n:05d}"
            folder.mkdir(parents=True)
            if kind in SIDECARS:  # an intact WAV beside a damaged sidecar or sheet
                name, text = SIDECARS[kind]
                (folder / "door.wav").write_bytes(seeds[kind])
                data, op = damage(text, rng)
                (folder / name).write_bytes(data)
                target = folder / "door.wav"
            else:
                data, op = damage(seeds[kind], rng)
                target = folder / f"sound.{kind}"
                target.write_bytes(data)
            ops[op] = ops.get(op, 0) + 1
            cases.append((str(target), str(lib)))
        for path in lib.rglob("*"):
            if path.is_file():
                before[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        files = run_files(cases, workdir, args.budget)
        changed = sum(hashlib.sha256(p.read_bytes()).hexdigest() != h for p, h in before.items())
        files_s = time.monotonic() - started
        state = run_state(args.state_cases, rng, workdir, args.budget) if args.state_cases else {}
    damages = ", ".join(f"{k} {v}" for k, v in sorted(ops.items()))
    print(f"fuzz (seed {args.seed}): {args.cases} damaged files ({damages}) in {files_s:.0f} s")
    print(f"  files:  hangs {files['hang']}, crashes {files['crash']}, tracebacks {files['traceback']}, "
          f"changed audio {changed}, fine {files['ok']}; slowest file {files['slowest_s']:.2f} s")
    for what, lines in files["examples"].items():
        for line in lines:
            print(f"    {what}: {line}")
    if state:
        print(f"  state:  {args.state_cases} damaged index/catalog/collections copies x 5 commands: hangs "
              f"{state['hang']}, crashes {state['crash']}, tracebacks {state['traceback']}, other exit codes "
              f"{state['bad_exit']}, fine {state['ok']}")
        for line in state["examples"]:
            print(f"    {line}")


if __name__ == "__main__":
    main()
