"""The library commands as a user runs them: scan, roots, remove-root, info, stats, errors."""

from __future__ import annotations

import json
import os

import pytest
from library_fixtures import CATALOGUED, NON_UTF8, bad_files, build_library, write_tone

from soundsearch.cli import main


@pytest.fixture
def library(tmp_path):
    lib = build_library(tmp_path / "library")
    yield lib
    lib.verify()  # the app never changes a byte of the user's files


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) if not isinstance(a, str) else a for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_then_rescan_roots_and_remove_root(home, library, capsys):
    code, out, _ = cli(capsys, "scan", library.root)
    assert code == 0 and f"{CATALOGUED} new" in out and "0 errors" in out
    code, out, _ = cli(capsys, "scan")  # no DIR: every root again
    assert code == 0 and f"{CATALOGUED} unchanged" in out and "0 new" in out
    code, out, _ = cli(capsys, "roots", "--json")
    assert json.loads(out) == [{"path": str(library.root), "files": CATALOGUED, "exists": True}]
    code, out, _ = cli(capsys, "remove-root", library.root)
    assert code == 0 and f"{CATALOGUED} files forgotten" in out
    code, out, _ = cli(capsys, "roots")
    assert "no library folders" in out


def test_scan_refuses_what_is_not_a_folder(home, tmp_path, capsys):
    code, _, err = cli(capsys, "scan", tmp_path / "nowhere")
    assert code == 2 and "not a folder" in err
    code, _, err = cli(capsys, "scan")
    assert code == 2 and "no library folders" in err
    code, _, err = cli(capsys, "remove-root", tmp_path)
    assert code == 2 and "not a library root" in err


def test_info_of_a_catalogued_file(home, library, capsys):
    cli(capsys, "scan", library.root)
    code, out, _ = cli(capsys, "info", library.path("Doors/door_wood_slam_01.wav"), "--json")
    info = json.loads(out)
    assert code == 0 and info["in_catalog"] and info["status"] == "ok"
    assert info["properties"]["format"] == "wav" and info["properties"]["duration"] == pytest.approx(0.3)
    assert all({"name", "value", "source"} == set(f) for f in info["metadata"]["fields"])
    assert "oak" in info["metadata"]["text"].lower() and info["metadata"]["untagged"] is False
    code, out, _ = cli(capsys, "info", library.path("Doors/door_wood_slam_01.wav"))
    assert "catalogued (id" in out and "44100 Hz" in out and "metadata text:" in out


def test_info_of_a_file_outside_the_catalog(home, tmp_path, capsys):
    path = write_tone(tmp_path / "loose" / "ZOOM0007.wav", 0.2, 8000)
    code, out, _ = cli(capsys, "info", path, "--json")
    info = json.loads(out)
    assert code == 0 and not info["in_catalog"] and info["properties"]["sample_rate"] == 8000
    assert not os.path.exists(home / "data" / "index")  # reading a file indexes nothing
    broken = tmp_path / "loose" / "picture.wav"
    broken.write_bytes(bad_files()["bad/picture.wav"])
    code, out, _ = cli(capsys, "info", broken)
    assert code == 0 and "status: error — not an audio file: the content is a PNG image" in out
    code, _, err = cli(capsys, "info", tmp_path / "missing.wav")
    assert code == 2 and "not a file" in err


def test_stats_and_errors(home, library, capsys):
    for name, data in bad_files().items():
        library.write(name, data)
    cli(capsys, "scan", library.root)
    code, out, _ = cli(capsys, "stats", "--json")
    stats = json.loads(out)
    assert code == 0 and stats["files"] == CATALOGUED + len(bad_files()) and stats["errors"] == 5
    assert stats["formats"]["wav"] >= 3 and stats["metadata_only"] == 1 and stats["hours"] > 0
    assert stats["roots"][0]["path"] == str(library.root)
    code, out, _ = cli(capsys, "stats")
    assert "files:" in out and "untagged:" in out and str(library.root) in out
    code, out, _ = cli(capsys, "errors", "--json")
    reasons = {os.path.basename(e["path"]): e["reason"] for e in json.loads(out)}
    assert reasons["empty.wav"] == "empty file (0 bytes)" and len(reasons) == 5
    code, out, _ = cli(capsys, "errors", "--warnings")
    assert "claims_hours.wav: warning: truncated" in out and "loop.m4a: warning: metadata only" in out


def test_non_utf8_names_print_readably(home, library, capsys):
    library.write(b"bad/caf\xe9 broken.wav", b"")
    cli(capsys, "scan", library.root)
    code, out, _ = cli(capsys, "errors", "--json")
    [entry] = json.loads(out)
    assert entry["path"].endswith("caf\\xe9 broken.wav") and entry["reason"] == "empty file (0 bytes)"
    code, out, _ = cli(capsys, "info", library.path(NON_UTF8))
    assert code == 0 and "caf\\xe9 ambience.wav" in out
