"""Hostile things in a library folder: named pipes where sidecars, folder notes, sheets or audio
should be, and a symlink to ``/``. The scan ends, says what it skipped, and reads the rest.

(Issue: ``mkfifo x.txt`` beside ``x.wav`` blocked scan, index and the app's background scan forever.)
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from library_fixtures import write_tone

from soundsearch import paths
from soundsearch.audio.decode import load
from soundsearch.audio.errors import AudioError
from soundsearch.audio.probe import probe
from soundsearch.jobs import run
from soundsearch.library.catalog import Catalog
from soundsearch.library.scanner import scan

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
pytest_plugins = ["search_fixtures"]  # fixtures: catalog


def no_hang(fn, fifos, timeout: float = 20.0):
    """fn() in a thread; if it is still running after ``timeout`` (blocked on a pipe), open each
    pipe for writing so the blocked read ends, and fail."""
    out: dict = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 — handed to the test
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(10)
        pytest.fail(f"blocked on a named pipe for more than {timeout} s")
    if "error" in out:
        raise out["error"]
    return out.get("value")


def _scan_own_catalog(lib):
    with Catalog(paths.catalog_path()) as cat:  # a connection belongs to its thread
        return run(scan(cat, [lib]))


@pytest.fixture
def piped(tmp_path):
    lib = tmp_path / "lib"
    write_tone(lib / "door_slam.wav")
    write_tone(lib / "sub" / "wind.wav")
    write_tone(lib / "sub" / "rain.wav")
    (lib / "sub" / "rain.txt").write_text("heavy rain on a tin roof")
    fifos = [lib / "door_slam.txt", lib / "readme.txt", lib / "sheet.csv", lib / "sub" / "wind.json",
             lib / "sub" / "take.wav", lib / "sub" / "notes.txt"]
    for fifo in fifos:
        os.mkfifo(fifo)
    return lib, fifos


def test_named_pipes_beside_the_audio_do_not_hang_the_scan(catalog, piped):
    lib, fifos = piped
    started = time.monotonic()
    result = no_hang(lambda: _scan_own_catalog(lib), fifos)
    assert time.monotonic() - started < 20
    names = {r.path.name: r for r in catalog.iter_files()}
    assert sorted(names) == ["door_slam.wav", "rain.wav", "wind.wav"]  # the pipe take.wav is no sound
    assert result.errors == 0
    rain = names["rain.wav"]
    assert "heavy rain on a tin roof" in rain.metadata.text  # the real sidecar beside pipes is read
    door = names["door_slam.wav"]
    assert any("door_slam.txt" in e and "named pipe" in e for e in door.metadata.errors)
    assert any("sheet.csv" in e and "named pipe" in e for e in door.metadata.errors)


def test_decoding_and_probing_a_pipe_is_refused_at_once(tmp_path):
    fifo = tmp_path / "became_a_pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioError, match="named pipe"):
        no_hang(lambda: load(fifo, 16000), [fifo])
    with pytest.raises(AudioError, match="named pipe"):
        no_hang(lambda: probe(fifo), [fifo])


def test_a_link_to_the_root_of_the_disk_is_not_walked(catalog, tmp_path):
    lib = tmp_path / "lib"
    write_tone(lib / "kick.wav")
    os.symlink("/", lib / "everything")
    os.symlink(tmp_path / "elsewhere", lib / "elsewhere")
    write_tone(tmp_path / "elsewhere" / "far.wav")
    started = time.monotonic()
    run(scan(catalog, [lib]))
    assert time.monotonic() - started < 20
    assert [r.path.name for r in catalog.iter_files()] == ["kick.wav"]
    errors = {p.name: reason for p, reason in catalog.errors()}
    assert "outside the library" in errors["everything"] and "--follow-links" in errors["elsewhere"]


def test_follow_links_when_asked(catalog, tmp_path):
    lib = tmp_path / "lib"
    write_tone(lib / "kick.wav")
    os.symlink(tmp_path / "elsewhere", lib / "elsewhere")
    write_tone(tmp_path / "elsewhere" / "far.wav")
    run(scan(catalog, [lib], follow_links=True))
    assert sorted(r.path.name for r in catalog.iter_files()) == ["far.wav", "kick.wav"]
    assert not catalog.errors()
