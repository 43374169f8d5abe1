"""Duplicates: exact copies by content, near copies by audio (re-encoded, resampled, trimmed,
gain-changed), none among look-alike takes; the CLI as a user runs it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from duplicate_fixtures import originals, plant

from soundsearch.audio.fingerprint import fingerprint, similarity
from soundsearch.cli import main


def groups_of(out: str, root: Path) -> dict[str, list[set[str]]]:
    found: dict[str, list[set[str]]] = {"same content": [], "same sound": []}
    for g in json.loads(out)["groups"]:
        found[g["reason"]].append({os.path.relpath(f["path"], root) for f in g["files"]})
    return found


def test_duplicates_cli_finds_every_planted_group_and_no_false_one(home, tmp_path, capsys):
    root = tmp_path / "library"
    planted = plant(root)
    assert main(["scan", str(root)]) == 0
    capsys.readouterr()
    assert main(["duplicates", "--json"]) == 0
    exact = groups_of(capsys.readouterr().out, root)
    assert sorted(map(sorted, exact["same content"])) == sorted(map(sorted, planted["exact"]))
    assert exact["same sound"] == []

    assert main(["duplicates", "--near", "--json"]) == 0
    out = capsys.readouterr().out
    found = groups_of(out, root)
    assert sorted(map(sorted, found["same sound"])) == sorted(map(sorted, planted["near"]))
    assert sorted(map(sorted, found["same content"])) == sorted(map(sorted, planted["exact"]))
    notes = {os.path.relpath(f["path"], root): f["note"]
             for g in json.loads(out)["groups"] for f in g["files"]}
    assert "re-encoded (ogg)" in notes["delivered/note_a3.ogg"]
    assert notes["delivered/steps_gravel_48k.wav"] == ""  # 48 kHz: the fullest copy leads its group
    assert "resampled (44100 Hz)" in notes["foley/steps_gravel_1.wav"]
    assert "trimmed (-0.50 s)" in notes["delivered/burst_dark_edit.wav"]
    assert "gain -6.0 dB" in notes["delivered/note_e4_quiet.wav"]
    assert notes["backup/riser copy.wav"] == "identical copy"
    # a second run reads the cached fingerprints and says the same
    assert main(["duplicates", "--near", "--json"]) == 0
    assert groups_of(capsys.readouterr().out, root) == found
    assert main(["duplicates"]) == 0
    assert "2 groups, 3 extra copies" in capsys.readouterr().out


def test_fingerprint_ignores_gain_and_sees_another_take():
    sounds = originals()
    a = sounds["music/note_a3_take1.wav"]
    import soxr

    at8k = soxr.resample(a, 44100, 8000)
    s_gain, _ = similarity(fingerprint(at8k), fingerprint(at8k * 0.25))
    assert s_gain > 0.99
    other = soxr.resample(sounds["music/note_a3_take2.wav"], 44100, 8000)
    s_take, _ = similarity(fingerprint(at8k), fingerprint(other))
    assert s_take < 0.8
    cut = at8k[2400:]  # 0.3 s trimmed off the head
    s_trim, offset = similarity(fingerprint(at8k), fingerprint(cut))
    assert s_trim > 0.8 and abs(offset - 0.3) < 0.01


def test_an_undecodable_file_is_left_out_and_the_rest_goes_on(home, tmp_path, capsys):
    root = tmp_path / "lib"
    plant(root)
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert main(["scan", str(root)]) == 0
    capsys.readouterr()
    assert main(["duplicates", "--near", "--json"]) == 0
    found = groups_of(capsys.readouterr().out, root)
    assert len(found["same sound"]) == 5 and not any("broken.wav" in g for g in found["same sound"])
