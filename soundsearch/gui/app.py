"""Start the desktop app: ``soundsearch`` with no arguments, or the ``soundsearch-gui`` launcher.

The window is shown before anything heavy happens: torch and the model load on a worker thread
after the first paint (cold start to a usable window is measured by ``SOUNDSEARCH_STARTUP_PROBE=1``,
which logs the time and quits; ``SOUNDSEARCH_STARTUP_PROBE="door slam"`` also searches those words
and logs when the first results and the model's results arrive: tests/benchmarks/bench_startup.py).
Nothing here, or anywhere in soundsearch, opens a network connection; the model libraries are told
so too.
"""

from __future__ import annotations

import logging
import os
import sys
import time

_T0 = time.perf_counter()  # as early as this module is imported: the start of the GUI path

# Offline by construction: transformers / huggingface_hub must never try the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from soundsearch import __version__  # noqa: E402

log = logging.getLogger(__name__)

APP_ID = "io.github.soundsearch.SoundSearch"  # AppStream id (packaging/*.metainfo.xml)
DESKTOP_ID = "soundsearch"  # packaging/soundsearch.desktop


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("soundsearch")
    app.setApplicationDisplayName("soundsearch")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("soundsearch")
    app.setDesktopFileName(DESKTOP_ID)  # Wayland/X11 docks match the window to the .desktop entry
    return app


def build_window(settings=None, session=None, player=None, start_jobs: bool = True):
    """The main window over the user's catalog (or the given session/player, for tests)."""
    from soundsearch.audio.playback import Player
    from soundsearch.collections import Collections
    from soundsearch.gui.icons import app_icon
    from soundsearch.gui.main_window import MainWindow
    from soundsearch.session import Session
    from soundsearch.settings import load_settings

    settings = settings or (session.settings if session else load_settings())
    session = session or Session(settings)
    player = player or Player(device=settings.output_device, volume=settings.volume)
    QApplication.instance().setWindowIcon(app_icon())
    return MainWindow(session, player, Collections(), start_jobs=start_jobs)


def seconds_since_process_start() -> float:
    """Wall time since the process began (Linux: from /proc, so interpreter start-up and imports
    count too); elsewhere since this module was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _T0


def _rss_mb() -> float:
    """Resident memory of this process in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def _probe_query(app, window, text: str) -> None:
    """Search ``text`` as soon as the window is up; print when the first results arrive (names and
    tags, before the model) and when the model's ranking does, with the memory at each; then quit."""

    def shown(outcome) -> None:
        ranked = not outcome.by_words
        print(f"startup: {'model-ranked' if ranked else 'first'} results ({len(outcome.hits)} hits) after "
              f"{seconds_since_process_start():.3f} s, RSS {_rss_mb():.0f} MB", file=sys.stderr, flush=True)
        if ranked:
            window.close()
            app.quit()

    window.search.resultsReady.connect(shown)
    window.search_box.set_text(text)
    window.search.query(text)


def _no_display() -> bool:
    """On Linux/BSD without X11 or Wayland (an SSH session, a server) Qt would abort the process."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_app(argv: list[str] | None = None) -> int:
    if _no_display():
        print("soundsearch: no display to open the app on (DISPLAY / WAYLAND_DISPLAY not set).\n"
              "The command line works without one: soundsearch --help", file=sys.stderr)
        return 2
    app = make_application(argv)
    window = build_window()
    window.show()
    probe = os.environ.get("SOUNDSEARCH_STARTUP_PROBE")

    def usable() -> None:  # the first event-loop turn after show(): the window is painted and responds
        elapsed = seconds_since_process_start()
        log.info("window usable %.2f s after start (model loads in the background)", elapsed)
        if probe:
            print(f"startup: window usable after {elapsed:.3f} s, RSS {_rss_mb():.0f} MB", file=sys.stderr)
            if probe == "1":
                window.close()
                app.quit()
            else:
                _probe_query(app, window, probe)

    QTimer.singleShot(0, usable)
    code = app.exec()
    if not window.jobs.pool.waitForDone(0):
        # Still loading the model (torch cannot be interrupted) or finishing a batch: don't make the
        # user wait for it. Everything worth keeping is committed (settings, window state, catalog
        # transactions); at most the batch in flight is lost, as with any crash, and redone next time.
        log.info("background work still running at exit; leaving without waiting for it")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
