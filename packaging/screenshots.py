"""Take the screenshots in packaging/screenshots/ (AppStream metainfo and README show them).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python packaging/screenshots.py \\
        --library /root/dev-library --home /tmp/ss-shots

(without a display it re-runs itself under xvfb-run). It scans and indexes the library into
``--home`` with the default model (incremental: a home indexed before is reused), then shoots:
empty-state.png (first run), results.png (a search, a sound selected, its waveform with a region
and the playhead) and preferences.png in the light look, and results-dark.png and
preferences-dark.png in the dark one. ``--tiny`` uses the random tiny test model instead (for
trying the script; the ranking is then meaningless).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "packaging" / "screenshots"
SIZE = (1440, 900)


def _ensure_display(argv: list[str]) -> None:
    if os.environ.get("DISPLAY") or os.environ.get("SOUNDSEARCH_SHOTS_CHILD"):
        return
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        sys.exit("screenshots: no DISPLAY and no xvfb-run (Debian: apt-get install xvfb xauth)")
    env = dict(os.environ, SOUNDSEARCH_SHOTS_CHILD="1")
    cmd = [xvfb, "-a", "-s", "-screen 0 1600x1000x24", sys.executable, *argv]
    sys.exit(subprocess.call(cmd, env=env))


def _settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _wait(app, predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def index_library(home: Path, library: Path, tiny: bool) -> None:
    """Scan and index ``library`` into ``home`` (what the app does in the background), printing progress."""
    from soundsearch import paths
    from soundsearch.indexer import index_job
    from soundsearch.jobs import run
    from soundsearch.library.catalog import Catalog
    from soundsearch.library.scanner import scan
    from soundsearch.settings import load_settings

    settings = load_settings()
    model = _model(tiny, settings)
    last = [0.0]

    def show(p) -> None:
        if time.monotonic() - last[0] > 5:
            last[0] = time.monotonic()
            print(f"  {p.stage}: {p.done}/{p.total} {p.message[:60]}", flush=True)

    with Catalog(paths.catalog_path()) as cat:
        cat.add_root(library)
        scanned = run(scan(cat), show)
        print(f"scan: {len(scanned.added)} new, {scanned.unchanged} unchanged, {scanned.errors} errors",
              flush=True)
        indexed = run(index_job(cat, model, settings), show)
        print(f"index: {indexed.embedded} embedded, {indexed.items} searchable", flush=True)


def _model(tiny: bool, settings):
    if tiny:
        from soundsearch.model import build_tiny_model

        return build_tiny_model()
    from soundsearch.session import load_settings_model

    return load_settings_model(settings)


def _window(app, tiny: bool, start_jobs: bool):
    from soundsearch.audio.playback import Player
    from soundsearch.gui.app import build_window
    from soundsearch.session import Session
    from soundsearch.settings import load_settings

    settings = load_settings()
    session = Session(settings, model_loader=lambda s: _model(tiny, s))
    window = build_window(session=session, player=Player(backend="null"), start_jobs=start_jobs)
    window.resize(*SIZE)
    window.move(40, 40)
    window.show()
    return window, session


def shoot_empty(app, tiny: bool) -> None:
    home = Path(tempfile.mkdtemp(prefix="ss-empty-"))
    os.environ["SOUNDSEARCH_HOME"] = str(home)
    window, _ = _window(app, tiny, start_jobs=False)
    _wait(app, lambda: window.stack.currentWidget() is window.empty, 10, "the empty state")
    _settle(app, 0.5)
    window.grab().save(str(OUT / "empty-state.png"))
    window.close()
    shutil.rmtree(home, ignore_errors=True)


def shoot_results(app, home: Path, tiny: bool, query: str, theme: str = "light") -> None:
    from soundsearch.gui.theme import apply_theme

    os.environ["SOUNDSEARCH_HOME"] = str(home)
    window, session = _window(app, tiny, start_jobs=False)
    window.settings.theme = theme
    apply_theme(theme)
    suffix = "" if theme == "light" else f"-{theme}"
    window.jobs.load_model()
    _wait(app, lambda: session.model is not None and not window.jobs.busy, 600, "the model")
    _settle(app, 0.5)
    window.search_box.set_text(query, search=True)
    _wait(app, lambda: window.model.rowCount() > 0 and not window.search.busy, 120, "results")
    window.view.setFocus()
    window.view.selectRow(1)
    wf = window.waveform
    _wait(app, lambda: wf.peaks is not None, 60, "the waveform")
    _wait(app, lambda: all(window.peaks.get(h.path, request=True) is not None
                           for h in window.model.hits[:25]), 120, "thumbnails")
    window.audition.stop()
    d = wf.duration
    wf.set_region((d * 0.30, d * 0.62))
    wf.set_position(d * 0.45)  # a playhead, as while auditioning (nothing plays under Xvfb)
    window.side.setCurrentIndex(0)
    _settle(app, 1.0)
    window.grab().save(str(OUT / f"results{suffix}.png"))

    dialog = window.open_preferences()
    _settle(app, 0.5)
    # the dialog over the window it belongs to, as the user sees it
    shot = window.grab()
    from PySide6.QtGui import QPainter

    painter = QPainter(shot)
    pix = dialog.grab()
    painter.drawPixmap((shot.width() - pix.width()) // 2, (shot.height() - pix.height()) // 3, pix)
    painter.end()
    shot.save(str(OUT / f"preferences{suffix}.png"))
    dialog.reject()
    window.close()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=Path, default=Path("/root/dev-library"))
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "soundsearch-shots")
    parser.add_argument("--query", default="explosion with debris")
    parser.add_argument("--tiny", action="store_true", help="random tiny model (trying the script only)")
    parser.add_argument("--skip-index", action="store_true", help="the home is already indexed")
    args = parser.parse_args(argv[1:])
    _ensure_display(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    OUT.mkdir(parents=True, exist_ok=True)
    args.home.mkdir(parents=True, exist_ok=True)
    os.environ["SOUNDSEARCH_HOME"] = str(args.home)
    if not args.skip_index:
        index_library(args.home, args.library, args.tiny)

    from soundsearch.gui.app import make_application

    app = make_application([sys.argv[0]])
    from soundsearch.gui.theme import apply_theme

    apply_theme("light")
    shoot_empty(app, args.tiny)
    shoot_results(app, args.home, args.tiny, args.query)
    shoot_results(app, args.home, args.tiny, args.query, theme="dark")
    for name in ("empty-state", "results", "preferences", "results-dark", "preferences-dark"):
        print(OUT / f"{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
