"""tag / write-tags / rename-ucs / export as a user runs them: a batch of untagged sounds tagged,
found by the new word, undone; tags written into the files; an OGG exported as 48 kHz/24-bit WAV."""

from __future__ import annotations

import json
import os

import pytest
import soundfile as sf
from library_fixtures import write_tone

from soundsearch.cli import main
from soundsearch.settings import Settings, save_settings

pytest_plugins = ["search_fixtures"]  # fixtures: library, tiny_model


@pytest.fixture
def indexed_cli(home, library, tiny_model, tmp_path, capsys):
    from soundsearch.model.checkpoint import collect_state, save_checkpoint

    folder = tmp_path / "tiny-model"
    save_checkpoint(folder, tiny_model.config,
                    collect_state(tiny_model.head, tiny_model.audio_encoder, tiny_model.text_encoder))
    save_settings(Settings(model=str(folder)))  # `tag` re-embeds with the settings' model
    assert main(["index", str(library), "--model", str(folder)]) == 0
    capsys.readouterr()
    return library, str(folder)


def _search(capsys, model, text):
    assert main(["search", text, "--json", "-k", "3", "--model", model]) == 0
    return [h["path"] for h in json.loads(capsys.readouterr().out)["hits"]]


def test_tag_search_undo(indexed_cli, capsys):
    lib, model = indexed_cli
    files = sorted(str(p) for p in lib.rglob("*") if p.suffix in (".wav", ".flac", ".ogg"))[:3]
    assert main(["tag", *files, "--set", "description=zorblatt quux machine", "--add-keywords",
                 "zorblatt,prop"]) == 0
    out = capsys.readouterr().out
    assert "edited 3 of 3 files" in out and "re-embedded for 3 files" in out
    assert sorted(_search(capsys, model, "+zorblatt")) == sorted(files)  # the search table sees it
    from soundsearch import paths
    from soundsearch.library.catalog import Catalog

    with Catalog(paths.catalog_path()) as catalog:  # and the text vectors were refreshed
        model_id = catalog.embedding_models()[0]
        assert catalog.stale_metadata(model_id) == []
    assert main(["info", files[0], "--json"]) == 0
    fields = json.loads(capsys.readouterr().out)["metadata"]["fields"]
    assert {"name": "description", "value": "zorblatt quux machine", "source": "user"} in fields
    assert main(["tag", "--undo"]) == 0
    assert "undid" in capsys.readouterr().out
    assert _search(capsys, model, "+zorblatt") == []
    assert main(["info", files[0], "--json"]) == 0
    assert "zorblatt" not in capsys.readouterr().out
    assert main(["tag", files[0], "--set", "duration=3"]) == 2
    assert "cannot edit" in capsys.readouterr().err


def test_write_tags_and_refusal(indexed_cli, capsys):
    lib, _ = indexed_cli
    wav = next(str(p) for p in sorted(lib.rglob("*.wav")))
    assert main(["tag", wav, "--set", "description=bright metal ping", "--set", "catid=METLImpt",
                 "--no-refresh"]) == 0
    before = os.stat(wav).st_mtime_ns
    assert main(["write-tags", wav, "--keep-times"]) == 0
    out = capsys.readouterr().out
    assert "audio verified identical" in out and os.stat(wav).st_mtime_ns == before
    assert main(["info", wav, "--fresh", "--json"]) == 0
    fields = json.loads(capsys.readouterr().out)["metadata"]["fields"]
    assert {"name": "catid", "value": "METLImpt", "source": "ixml:USER/CATID"} in fields
    assert any(f["source"] == "bext:Description" and f["value"] == "bright metal ping" for f in fields)
    os.chmod(wav, 0o444)
    assert main(["write-tags", wav]) == 1
    assert "read-only" in capsys.readouterr().err


def test_rename_preview_then_apply(indexed_cli, capsys):
    lib, _ = indexed_cli
    wav = sorted(lib.rglob("*.wav"))[0]
    main(["tag", str(wav), "--set", "catid=DOORWood", "--set", "fxname=Old Gate", "--no-refresh"])
    capsys.readouterr()
    assert main(["rename-ucs", str(wav), "--creator", "ME"]) == 0
    assert "DOORWood_Old Gate_ME_SRC.wav" in capsys.readouterr().out and wav.exists()
    assert main(["rename-ucs", str(wav), "--creator", "ME", "--apply"]) == 0
    assert not wav.exists() and (wav.parent / "DOORWood_Old Gate_ME_SRC.wav").exists()
    assert main(["tag", "--undo"]) == 0 and wav.exists()


def test_export_ogg_as_48k_24bit_wav(indexed_cli, capsys, tmp_path):
    lib, _ = indexed_cli
    ogg = write_tone(lib / "rain.ogg", 0.3, 44100, 1, 900.0)
    assert main(["scan", str(lib)]) == 0
    assert main(["tag", str(ogg), "--set", "description=rain on a tin roof", "--no-refresh"]) == 0
    capsys.readouterr()
    out = tmp_path / "session"
    assert main(["export", str(ogg), "--to", str(out), "--rate", "48000", "--bits", "24"]) == 0
    path = capsys.readouterr().out.strip()
    info = sf.info(path)
    assert path.endswith(".wav") and (info.samplerate, info.subtype) == (48000, "PCM_24")
    assert main(["info", path, "--json"]) == 0  # the copy carries the catalog's description
    fields = json.loads(capsys.readouterr().out)["metadata"]["fields"]
    assert {"name": "description", "value": "rain on a tin roof", "source": "bext:Description"} in fields
