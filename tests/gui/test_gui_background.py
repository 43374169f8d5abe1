"""First run, background scanning and indexing: progress, cancel, and a UI that never blocks."""

from __future__ import annotations

import threading
import time

import numpy as np
from gui_helpers import names, search, write_sound
from PySide6.QtCore import QTimer

from soundsearch import paths
from soundsearch.library.catalog import Catalog
from soundsearch.session import load_settings_model


class SlowModel:
    """The tiny model, slowed down per audio batch so a test can watch and cancel an index job."""

    def __init__(self, model, delay: float) -> None:
        self._model, self._delay = model, delay
        self.batches = 0

    def __getattr__(self, name):
        return getattr(self._model, name)

    def embed_audio(self, waves, **kw):
        self.batches += 1
        time.sleep(self._delay)
        return self._model.embed_audio(waves, **kw)


def many_sounds(root, n: int, seconds: float = 0.2, sr: int = 22050):
    for i in range(n):
        write_sound(root / f"take_{i:03d}_hit.wav", seconds + 0.01 * (i % 7), sr, 1, "PCM_16", 100.0 + 40 * i,
                    seed=i)
    return root


def embedded_count(model_id: str) -> int:
    with Catalog(paths.catalog_path()) as cat:
        return len(cat.load_embeddings(model_id)[0])


def test_first_run_asks_for_folders_then_indexes_in_the_background(qtbot, make_window, make_session,
                                                                   sound_library):
    session = make_session()
    window = make_window(session, start_jobs=True)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.empty, timeout=5000)
    assert window.empty.isVisible()
    qtbot.waitUntil(lambda: session.model is not None and not window.jobs.busy, timeout=30000)
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=30000) as done:
        window.empty.folderChosen.emit(sound_library)  # what the folder picker sends
        assert window.stack.currentWidget() is window.page
    kind, result = done.args
    assert kind == "update" and result.index.embedded == 8
    roots = window.library.roots
    qtbot.waitUntil(lambda: roots.topLevelItemCount() == 1 and roots.topLevelItem(0).text(1) == "8",
                    timeout=5000)
    assert roots.topLevelItem(0).text(0) == "Sound Library"  # the full path is its tooltip
    assert roots.topLevelItem(0).toolTip(0).splitlines()[0] == str(sound_library)
    assert "8 sounds" in window.library.totals.text() and "untagged" in window.library.totals.text()
    assert names(search(qtbot, window, "glass"))[0] == "glass_break_shatter.wav"
    assert not window.progress.isVisible()


def test_progress_and_cancel_of_an_index_job(qtbot, make_window, make_session, tiny_model, tmp_path):
    root = many_sounds(tmp_path / "takes", 64)
    slow = SlowModel(tiny_model, delay=0.25)
    session = make_session(model=slow)
    session.set_model(slow)
    window = make_window(session)
    seen = []
    window.jobs.worker = None
    with Catalog(paths.catalog_path()) as cat:
        cat.add_root(root)
    window.jobs.update()
    window.jobs.worker.signals.progress.connect(seen.append)
    qtbot.waitUntil(lambda: any(p.stage == "index" and p.done >= 16 for p in seen), timeout=30000)
    assert window.progress.isVisible() and window.progress.cancel_button.isEnabled()
    label = window.progress.label.text()
    assert "Indexing sounds" in label and "/ 64 files" in label and "audio" in label
    assert window.progress.bar.maximum() == 64
    with qtbot.waitSignal(window.jobs.jobCancelled, timeout=10000):
        window.progress.cancel_button.click()
    assert not window.progress.isVisible()
    kept = embedded_count(tiny_model.model_id)
    assert 16 <= kept < 64, "what was indexed before the cancel is kept, the rest is not done"
    assert "Stopped" in window.status.text()
    # progress signals are rate-limited: far fewer than one per file
    times = [p for p in seen if p.stage == "index"]
    assert len(times) <= kept
    # the next run goes on from there
    slow._delay = 0.0
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=60000) as done:
        window.jobs.update()
    assert done.args[1].index.embedded == 64 - kept
    assert embedded_count(tiny_model.model_id) == 64


def _runqueue_wait() -> float:
    """Seconds this thread has waited for a CPU while runnable (Linux schedstat), else 0."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat", encoding="ascii") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def test_ui_thread_never_blocks_during_indexing(qtbot, make_window, make_session, tmp_path):
    """A 10 ms timer on the UI thread while a library is scanned and indexed with the real default
    model (aisfx + MiniLM + the shipped head) and a search runs: no gap between ticks may exceed 100 ms.

    The model is loaded in the background first, as the app does at start-up; that phase is measured
    and printed but not held to 100 ms: loading libtorch's shared libraries holds the interpreter lock
    for a few hundred milliseconds in any thread (a one-off hitch while the window is already up).
    The gap counted against the app excludes the time the UI thread sat runnable in the kernel's run
    queue (Linux schedstat): on a shared, overloaded CI machine the OS not giving us a CPU is not the
    app blocking its UI. Both numbers are printed."""
    root = many_sounds(tmp_path / "takes", 96, seconds=4.0, sr=44100)  # 6.4 min of audio: real work
    session = make_session(model_loader=load_settings_model)
    window = make_window(session)
    gaps: list[float] = []
    blocked: list[float] = []
    last = [time.perf_counter(), _runqueue_wait()]

    def tick() -> None:
        now, waited = time.perf_counter(), _runqueue_wait()
        gaps.append(now - last[0])
        blocked.append(now - last[0] - (waited - last[1]))
        last[:] = [now, waited]

    def report(phase: str) -> float:
        g, b = gaps[1:], blocked[1:]
        print(f"\nevent-loop latency during {phase}, {len(g)} ticks of a 10 ms timer over {sum(g):.1f} s: "
              f"wall max {max(g) * 1000:.0f} ms, p99 {np.percentile(g, 99) * 1000:.0f} ms, median "
              f"{np.median(g) * 1000:.0f} ms; excluding run-queue wait max {max(b) * 1000:.0f} ms")
        return max(b)

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    last[:] = [time.perf_counter(), _runqueue_wait()]
    window.start_background()  # loads the model off the UI thread; the library is empty so far
    qtbot.waitUntil(lambda: session.model is not None and not window.jobs.busy, timeout=120000)
    report("the model load")
    with Catalog(paths.catalog_path()) as cat:
        cat.add_root(root)
    gaps.clear()
    blocked.clear()
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=120000,
                          check_params_cb=lambda kind, _result: kind == "update") as done:
        last[:] = [time.perf_counter(), _runqueue_wait()]
        window.jobs.update()  # scan + index on a worker
        # and search meanwhile, as a user would (parented: never fires into a closed window)
        QTimer.singleShot(300, window, lambda: window.search.query("take hit"))
    timer.stop()
    assert done.args[1].index.embedded == 96
    assert sum(gaps) > 2.0, "the job was too short to measure anything"
    worst = report("scan+index+search")
    assert worst < 0.1, f"the UI thread was blocked for {worst * 1000:.0f} ms"


def test_rescan_and_remove_folder_from_the_library_panel(qtbot, window, sound_library):
    qtbot.waitUntil(lambda: window.library.roots.topLevelItemCount() == 1, timeout=5000)
    write_sound(sound_library / "new_bell_ring.wav", 0.3, 44100, 1, "PCM_16", 880.0)
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=30000) as done:
        window.library.rescan_button.click()
    assert done.args[1].scan.added and done.args[1].index.embedded == 1
    qtbot.waitUntil(lambda: window.library.roots.topLevelItem(0).text(1) == "9", timeout=5000)
    assert names(search(qtbot, window, "bell"))[0] == "new_bell_ring.wav"
    window.library.roots.topLevelItem(0).setSelected(True)
    window.library.remove_button.click()
    qtbot.waitUntil(lambda: window.library.roots.topLevelItemCount() == 0, timeout=5000)
    assert window.stack.currentWidget() is window.empty
    assert search(qtbot, window, "bell") == []


def test_errors_list_shows_unusable_files(qtbot, make_window, indexed_session, sound_library):
    (sound_library / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    window = make_window(indexed_session)
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=30000):
        window.jobs.update()
    qtbot.waitUntil(lambda: window.library.errors.count() == 1, timeout=5000)
    assert window.library.errors.item(0).text().startswith("broken.wav: ")
    assert "(1)" in window.library.errors_label.text()


def test_searchable_by_name_after_the_scan_and_by_sound_as_each_batch_is_embedded(
        qtbot, make_window, make_session, tiny_model, tmp_path):
    root = many_sounds(tmp_path / "takes", 48)
    with Catalog(paths.catalog_path()) as cat:
        cat.add_root(root)
    slow = SlowModel(tiny_model, delay=1.5)  # 3 batches of 16: the job runs about 5 s
    session = make_session(model_loader=lambda _s: slow)
    window = make_window(session, start_jobs=True)
    window.search_box.edit.setText("take_040_hit")
    window.search_box.force()
    # right after the scan, before its batch is embedded, the file is found by its name
    qtbot.waitUntil(lambda: bool(window.model.hits) and window.model.hits[0].path.name == "take_040_hit.wav",
                    timeout=20000)
    assert embedded_count(slow.model_id) < 48 and window.jobs.busy
    # each batch joins the engine in memory while the job runs (no index save before its end)
    qtbot.waitUntil(lambda: embedded_count(slow.model_id) >= 16, timeout=20000)
    qtbot.waitUntil(lambda: session._engine is not None and len(session._engine.lib.items) >= 16,
                    timeout=3000)
    assert window.jobs.busy, "the job ended before the check: slow it down"
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30000)
    assert len(search(qtbot, window, "take_040_hit")) > 1
