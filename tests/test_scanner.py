"""Scanning a real (tiny) library: new, changed, moved, deleted; bad input; interruptions."""

from __future__ import annotations

import ctypes
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from library_fixtures import CATALOGUED, NON_UTF8, SOUNDS, bad_files, build_library, write_tone

import soundsearch.library.examine as examine_mod
from soundsearch import paths
from soundsearch.jobs import Cancelled, CancelToken, run
from soundsearch.library.catalog import Catalog, EmbeddingRow
from soundsearch.library.scanner import scan

DOOR = "Doors/door_wood_slam_01.wav"


@pytest.fixture
def library(tmp_path):
    lib = build_library(tmp_path / "library")
    yield lib
    lib.verify()  # the app never changes a byte of the user's files


@pytest.fixture
def catalog(home):
    cat = Catalog(paths.catalog_path())
    yield cat
    cat.close()


def do_scan(catalog, *roots, **kw):
    return run(scan(catalog, [str(r) for r in roots] or None, **kw))


def rel(library, record) -> bytes:
    return os.path.relpath(os.fsencode(record.path), os.fsencode(library.root))


def test_first_scan_catalogs_every_sound_and_skips_the_rest(catalog, library):
    result = do_scan(catalog, library.root)
    assert len(result.added) == result.seen == CATALOGUED and result.errors == 0
    records = {rel(library, r): r for r in catalog.iter_files()}
    assert set(records) == {os.fsencode(k) for k in SOUNDS} | {b"Music/loop.m4a", NON_UTF8}
    assert {r.format for r in records.values()} == {"wav", "aiff", "flac", "ogg", "opus", "mp3", "m4a"}
    aiff = records[b"Doors/Metal/door_metal_creak.aiff"]
    assert (aiff.sample_rate, aiff.channels, aiff.bit_depth, aiff.status) == (48000, 2, 16, "ok")
    assert aiff.duration == pytest.approx(0.25) and aiff.folder == Path("Doors/Metal")
    m4a = records[b"Music/loop.m4a"]
    assert m4a.status == "metadata_only" and "cannot decode" in m4a.error
    assert m4a.duration == pytest.approx(0.5)
    odd = records[NON_UTF8]  # a name that is not UTF-8 comes back byte for byte
    assert os.fsencode(odd.path).endswith(b"/" + NON_UTF8) and catalog.get_by_path(odd.path).id == odd.id
    assert "oak" in records[os.fsencode(DOOR)].metadata.text.lower()  # its sidecar .txt
    assert catalog.roots() == [library.root]


def test_unchanged_rescan_opens_no_file(catalog, library, monkeypatch):
    do_scan(catalog, library.root)

    def must_not_run(*args, **kwargs):
        raise AssertionError("an unchanged file was opened")

    monkeypatch.setattr(examine_mod, "read_ends", must_not_run)
    monkeypatch.setattr(examine_mod, "read_metadata", must_not_run)
    result = do_scan(catalog)
    assert result.unchanged == CATALOGUED
    assert not (result.added or result.changed or result.moved or result.deleted or result.errors)


def test_changed_content_is_probed_again_and_drops_its_vectors(catalog, library):
    do_scan(catalog, library.root)
    old = catalog.get_by_path(library.path(DOOR))
    catalog.store_embeddings("m", [EmbeddingRow(old.id, np.ones(4, np.float32), None, old.content_hash, "")])
    library.tone(DOOR, seconds=0.6, sr=22050)
    result = do_scan(catalog)
    assert result.changed == [old.id] and not (result.added or result.moved or result.deleted)
    new = catalog.get(old.id)
    assert (new.duration, new.sample_rate) == (pytest.approx(0.6), 22050)
    assert new.content_hash != old.content_hash
    assert len(catalog.load_embeddings("m")[0]) == 0


def test_touched_file_with_same_content_only_updates_mtime(catalog, library):
    do_scan(catalog, library.root)
    old = catalog.get_by_path(library.path(DOOR))
    catalog.store_embeddings("m", [EmbeddingRow(old.id, np.ones(4, np.float32), None, old.content_hash, "")])
    os.utime(library.path(DOOR), ns=(old.mtime_ns + 5 * 10**9, old.mtime_ns + 5 * 10**9))
    result = do_scan(catalog)
    assert not (result.changed or result.added or result.moved or result.deleted)
    assert catalog.get(old.id).mtime_ns == old.mtime_ns + 5 * 10**9
    assert list(catalog.load_embeddings("m")[0]) == [old.id]


def test_same_length_rerender_with_silent_ends_is_a_change(catalog, library):
    """A re-rendered region: same length, silent head and tail, different sound in the middle."""
    def take(freq):
        x = np.zeros(4 * 44100, np.float32)  # 4 s: the first and last 64 KiB are silence
        x[44100:3 * 44100] = 0.3 * np.sin(2 * np.pi * freq * np.arange(2 * 44100) / 44100)
        buf = io.BytesIO()
        sf.write(buf, x, 44100, format="WAV", subtype="PCM_16")
        return buf.getvalue()

    library.write("Takes/whoosh_03.wav", take(300.0))
    do_scan(catalog, library.root)
    old = catalog.get_by_path(library.path("Takes/whoosh_03.wav"))
    library.write("Takes/whoosh_03.wav", take(900.0))
    os.utime(library.path("Takes/whoosh_03.wav"), ns=(old.mtime_ns + 10**9, old.mtime_ns + 10**9))
    result = do_scan(catalog)
    assert result.changed == [old.id] and catalog.get(old.id).content_hash != old.content_hash


@pytest.mark.parametrize("target", ["Impacts/Wood/slam_heavy.wav", "Doors/door_wood_slam_renamed.wav"])
def test_moved_or_renamed_file_keeps_id_user_data_and_vectors(catalog, library, target):
    do_scan(catalog, library.root)
    old = catalog.get_by_path(library.path(DOOR))
    catalog.set_user_data(old.id, {"rating": 5})
    catalog.store_embeddings("m", [EmbeddingRow(old.id, np.ones(4, np.float32), None, old.content_hash, "")])
    library.move(DOOR, target)
    result = do_scan(catalog)
    assert result.moved == [old.id] and not (result.added or result.deleted or result.changed)
    moved = catalog.get(old.id)
    assert moved.path == library.path(target) and moved.user == {"rating": 5}
    assert list(catalog.load_embeddings("m")[0]) == [old.id]
    assert catalog.get_by_path(library.path(DOOR)) is None and catalog.count() == CATALOGUED
    assert Path(target).stem.split("_")[-1] in moved.metadata.text.lower()  # names are read again


def test_deleted_files_and_folders_leave_the_catalog_with_their_vectors(catalog, library):
    do_scan(catalog, library.root)
    gone = [catalog.get_by_path(library.path(p)).id for p in ("UI/click.mp3", "Ambience/rain_light.ogg",
                                                              "Ambience/forest birds.flac")]
    catalog.store_embeddings("m", [EmbeddingRow(i, np.ones(4, np.float32), None, None, "") for i in gone])
    library.delete("UI/click.mp3")
    library.delete("Ambience")
    result = do_scan(catalog)
    assert sorted(result.deleted) == sorted(gone) and catalog.count() == CATALOGUED - 3
    assert catalog.get_many(gone) == [] and len(catalog.load_embeddings("m")[0]) == 0


def test_bad_files_are_recorded_with_a_reason_and_the_scan_goes_on(catalog, library):
    for name, data in bad_files().items():
        library.write(name, data)
    result = do_scan(catalog, library.root)
    assert len(result.added) == CATALOGUED + len(bad_files())
    errors = {Path(p).name: reason for p, reason in catalog.errors()}
    assert errors.pop("empty.wav") == "empty file (0 bytes)"
    assert "truncated" in errors.pop("header_cut.wav")
    assert "not a recognised audio format" in errors.pop("noise.wav")
    assert "PNG image" in errors.pop("picture.wav")
    assert "0 channels" in errors.pop("zero_channels.wav")
    assert errors == {} and result.errors == 5
    warnings = {Path(p).name: reason for p, reason in catalog.warnings()}
    assert "truncated" in warnings["cut_short.wav"] and "claims" in warnings["claims_hours.wav"]
    assert "WAV" in warnings["really_a_wav.mp3"] and "loop.m4a" in warnings
    hours = catalog.get_by_path(library.path("bad/claims_hours.wav"))
    assert hours.status == "ok" and hours.duration == pytest.approx(0.1)


def test_very_long_and_non_utf8_names(catalog, library):
    long_ascii = "a" * 251 + ".wav"  # 255 bytes, the usual limit
    long_utf8 = "é" * 125 + ".wav"  # 254 bytes in UTF-8
    for name in (long_ascii, long_utf8):
        library.tone(f"Long/{name}")
    library.write(b"Long/\xff\xfe odd.wav", library.path(DOOR).read_bytes())
    do_scan(catalog, library.root)
    names = {os.fsencode(r.path.name) for r in catalog.iter_files(library.root)}
    assert {os.fsencode(long_ascii), os.fsencode(long_utf8), b"\xff\xfe odd.wav"} <= names
    odd = catalog.get_by_path(library.path(b"Long/\xff\xfe odd.wav"))
    assert odd.status == "ok" and odd.duration == pytest.approx(0.3)


def test_symlink_loops_end_and_linked_folders_are_walked_once(catalog, library, tmp_path):
    write_tone(tmp_path / "outside" / "far_thunder.wav")
    library.link("Loops/back_to_root", library.root)
    library.link("Loops/to_itself", library.path("Loops"))
    library.link("Linked", tmp_path / "outside")
    library.link("Linked again", tmp_path / "outside")
    library.link("Doors/link_to_file.wav", library.path(DOOR))
    library.link("Doors/dangling.wav", tmp_path / "nowhere.wav")
    result = do_scan(catalog, library.root, follow_links=True)  # the user asked for outside links
    names = sorted(r.path.name for r in catalog.iter_files())
    assert names.count("far_thunder.wav") == 1 and "link_to_file.wav" in names
    assert result.seen == CATALOGUED + 2
    assert dict((p.name, r) for p, r in catalog.errors()) == {"dangling.wav": "broken symbolic link"}


def _drop_dac_capabilities() -> None:
    """Runs in the child before exec: without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH in its
    bounding set, the exec'd root process obeys file permissions like any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP failed")


def _run_as_user(args: list[str]) -> subprocess.CompletedProcess:
    preexec = _drop_dac_capabilities if os.geteuid() == 0 else None
    return subprocess.run([sys.executable, *args], preexec_fn=preexec, capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def test_unreadable_folder_is_reported_and_its_files_are_kept(catalog, library):
    # Tests run as root, for whom chmod 000 denies nothing; the scan runs in a child process that
    # dropped root's permission-override capabilities, so the kernel really refuses the folder.
    do_scan(catalog, library.root)
    locked = library.path("Ambience")
    os.chmod(locked, 0)
    try:
        probe = _run_as_user(["-c", f"import os; os.listdir({str(locked)!r})"])
        if "PermissionError" not in probe.stderr:
            pytest.skip(f"cannot make a folder unreadable here (capabilities not droppable): {probe.stderr}")
        done = _run_as_user(["-m", "soundsearch", "scan"])
    finally:
        os.chmod(locked, 0o755)
    assert done.returncode == 0, done.stderr
    assert catalog.errors() == [(locked, "cannot read folder: permission denied")]
    assert catalog.count() == CATALOGUED  # what it holds is unknown, not deleted
    result = do_scan(catalog)  # readable again: the error goes away
    assert result.unchanged == CATALOGUED and catalog.errors() == []


def test_files_deleted_during_the_scan(catalog, library):
    do_scan(catalog, library.root)
    library.tone("Voices/zz_new_whisper.wav")  # new, walked last, deleted before it is read
    victim = catalog.get_by_path(library.path("Voices/shout_male.opus"))
    os.utime(library.path("Voices/shout_male.opus"), ns=(1, 1))  # changed, deleted before it is read

    def delete_late_files(progress):
        if progress.stage == "scan" and progress.done == 0:
            library.delete("Voices")

    result = run(scan(catalog, None, batch_size=1), delete_late_files)
    assert not result.added and result.deleted == [victim.id] and result.errors == 0
    assert catalog.count() == CATALOGUED - 1 and catalog.errors() == []


def test_cancelled_scan_keeps_committed_batches_and_the_next_run_continues(catalog, library):
    token = CancelToken()

    def cancel_after_two_batches(progress):
        if progress.stage == "scan" and progress.done >= 4:
            token.cancel()

    with pytest.raises(Cancelled):
        run(scan(catalog, [library.root], token, batch_size=2), cancel_after_two_batches)
    assert catalog.count() == 4
    result = do_scan(catalog)
    assert len(result.added) == CATALOGUED - 4 and result.unchanged == 4 and not result.deleted


KILLER = """
import os, signal, sys
from soundsearch.library.catalog import Catalog
from soundsearch.library.scanner import scan
for p in scan(Catalog(sys.argv[1]), [sys.argv[2]], batch_size=2, processes=1):
    if p.stage == "scan" and p.done >= 4:
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_scan_loses_at_most_the_batch_in_flight(catalog, library):
    done = subprocess.run([sys.executable, "-c", KILLER, str(paths.catalog_path()), str(library.root)],
                          capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL
    with Catalog(paths.catalog_path()) as fresh:
        assert fresh.count() == 4
        assert fresh._db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    result = do_scan(catalog)
    assert len(result.added) == CATALOGUED - 4 and catalog.count() == CATALOGUED


def test_changed_sidecar_reads_metadata_again(catalog, library):
    do_scan(catalog, library.root)
    door = catalog.get_by_path(library.path(DOOR))
    library.write("Doors/door_wood_slam_01.txt", b"creaky barn door opening slowly\n")
    result = do_scan(catalog)
    assert door.id in result.retagged and not result.changed and result.unchanged == CATALOGUED
    assert "barn" in catalog.get(door.id).metadata.text.lower()


def test_missing_root_keeps_its_files(catalog, library):
    do_scan(catalog, library.root)
    away = library.root.with_name("unplugged")
    os.rename(library.root, away)
    try:
        result = do_scan(catalog)
    finally:
        os.rename(away, library.root)
    assert not result.deleted and catalog.count() == CATALOGUED
    [(path, reason)] = catalog.errors()
    assert path == library.root and "not found" in reason
    assert do_scan(catalog).unchanged == CATALOGUED and catalog.errors() == []


def test_subfolder_rescan_touches_only_that_folder(catalog, library):
    do_scan(catalog, library.root)
    library.delete("UI/click.mp3")
    library.tone("Doors/knock_knock.wav")
    result = do_scan(catalog, library.path("Doors"))
    assert len(result.added) == 1 and not result.deleted and catalog.roots() == [library.root]
    assert len(do_scan(catalog).deleted) == 1


def test_adding_a_parent_folder_absorbs_a_root_and_keeps_ids(catalog, library):
    do_scan(catalog, library.path("Doors"))
    ids = {r.path: r.id for r in catalog.iter_files()}
    result = do_scan(catalog, library.root)
    assert catalog.roots() == [library.root] and len(result.added) == CATALOGUED - len(ids)
    assert {r.path: r.id for r in catalog.iter_files() if r.path in ids} == ids


@pytest.mark.parametrize("start", ["fork", "spawn"])  # spawn: what a scan on a GUI thread uses
def test_worker_processes_give_the_same_catalog(catalog, library, tmp_path, monkeypatch, start):
    import multiprocessing
    if start not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start} on this platform")
    monkeypatch.setattr(examine_mod, "_start_method", lambda: multiprocessing.get_context(start))
    do_scan(catalog, library.root, processes=2)
    with Catalog(tmp_path / "serial.sqlite3") as serial:
        do_scan(serial, library.root, processes=1)

        def rows(cat):
            return sorted((str(r.path), r.content_hash, r.duration, r.status, r.metadata.text,
                           r.metadata.to_json()["fields"], r.metadata.errors) for r in cat.iter_files())

        assert rows(catalog) == rows(serial)


def test_scanning_something_that_is_not_a_folder_is_refused(catalog, library):
    with pytest.raises(NotADirectoryError, match="not a folder"):
        do_scan(catalog, library.path(DOOR))
    assert catalog.roots() == []
