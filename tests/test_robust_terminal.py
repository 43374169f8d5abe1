"""Names and tags reach a terminal escaped, and JSON output is valid UTF-8, whatever a file is named.

(Issue: ``errors`` printed raw escape codes from a file name — clear screen, window title; a newline
in a name split a result line; ``search --json`` emitted a raw 0xE9 byte.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from search_helpers import index, scan, write_sound

from soundsearch.cli import main
from soundsearch.commands.terminal import clean, json_text

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed

EVIL = "evil\x1b]0;pwned\x07\x1b[2J\x9b31m.wav"
SPLIT = "two\nlines\rhere.wav"


def test_clean_leaves_no_control_character():
    assert clean(EVIL) == "evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m.wav"
    assert clean(SPLIT) == "two\\x0alines\\x0dhere.wav"
    assert clean(os.fsdecode(b"caf\xe9.wav")) == "caf\\xe9.wav"
    assert clean("Café — ok") == "Café — ok"
    text = json_text({"p": os.fsdecode(b"caf\xe9"), "c": "a\x1bb"})
    assert json.loads(text) == {"p": "caf\\xe9", "c": "a\x1bb"}
    text.encode("utf-8")  # no lone surrogate left


def test_errors_prints_one_clean_line_per_file(catalog, tmp_path, capsys):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / EVIL).write_bytes(b"RIFF....WAVEjunk")
    (lib / SPLIT).write_bytes(b"not audio at all")
    scan(catalog, lib)
    assert main(["errors"]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\r\x9b")
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.startswith(str(lib)) for line in lines)
    assert main(["info", str(lib / SPLIT)]) == 0
    info = capsys.readouterr().out
    assert "two\\x0alines\\x0dhere.wav" in info and "\r" not in info


def test_search_json_is_valid_utf8_with_undecodable_names(home, tmp_path, tiny_model):
    from soundsearch import paths
    from soundsearch.library.catalog import Catalog
    from soundsearch.model.checkpoint import collect_state, save_checkpoint

    lib = tmp_path / "lib"
    plain = write_sound(lib / "cafe door slam.wav", 0.3, 16000, 1, 300.0)
    os.rename(os.fsencode(plain), os.fsencode(lib) + b"/caf\xe9 door slam.wav")  # not UTF-8
    write_sound(lib / "door creak.wav", 0.3, 16000, 1, 500.0)
    with Catalog(paths.catalog_path()) as catalog:
        scan(catalog, lib)
        index(catalog, tiny_model)
    model = tmp_path / "model"
    save_checkpoint(model, tiny_model.config,
                    collect_state(tiny_model.head, tiny_model.audio_encoder, tiny_model.text_encoder))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    for argv in (["search", "door", "--json"], ["search", "door"]):
        done = subprocess.run([sys.executable, "-m", "soundsearch", *argv, "--model", str(model)],
                              capture_output=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        text = done.stdout.decode("utf-8")  # raises on a raw 0xE9
        if "--json" in argv:
            text = " ".join(h["path"] for h in json.loads(text)["hits"])
        assert "caf\\xe9 door slam.wav" in text


@pytest.mark.parametrize("stage_message", [EVIL])
def test_progress_lines_are_clean(stage_message, capsys):
    from soundsearch.commands.search import ProgressLine
    from soundsearch.jobs import Progress

    ProgressLine()(Progress("index", 1, 2, stage_message))
    assert "\x1b" not in capsys.readouterr().err
