"""Index-time failures are visible where a user looks (``errors --warnings``, ``info``, ``stats``),
and a file deleted since the last scan is not offered by search.

(Issue: files stored as "audio not embedded" — NaN samples, silence, deleted after the scan — never
showed in ``errors --warnings``; ``info`` said "status: ok"; ``stats`` said "not embedded: 0".)"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from search_helpers import by_name, index, scan

from soundsearch.cli import main
from soundsearch.search import SearchEngine

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed


@pytest.fixture
def troubled(catalog, library, tiny_model):
    sf.write(str(library / "quiet_room_tone.wav"), np.zeros(8000, np.float32), 16000)
    nan = np.full(8000, np.nan, np.float32)
    sf.write(str(library / "broken_float_nan.wav"), nan, 16000, subtype="FLOAT")
    sf.write(str(library / "gone_before_index.wav"), 0.3 * np.ones(8000, np.float32), 16000)
    (library / "glass" / "glass_clink.json").write_text("{not json")  # a bad sidecar
    scan(catalog, library)
    (library / "gone_before_index.wav").unlink()
    result = index(catalog, tiny_model)
    assert result.metadata_only == 3  # stored with their names' words, audio not embedded
    return catalog, tiny_model, library


def test_errors_warnings_lists_what_the_indexer_could_not_embed(troubled, capsys):
    assert main(["errors", "--warnings", "--json"]) == 0
    rows = {r["path"].rsplit("/", 1)[-1]: r["reason"] for r in json.loads(capsys.readouterr().out)}
    assert "audio not indexed: silent audio" in rows["quiet_room_tone.wav"]
    assert "audio not indexed" in rows["broken_float_nan.wav"]
    assert "audio not indexed: cannot read" in rows["gone_before_index.wav"]
    assert "metadata: sidecar: bad sidecar glass_clink.json" in rows["glass_clink.flac"]


def test_info_and_stats_say_so_too(troubled, capsys):
    _, _, lib = troubled
    assert main(["info", str(lib / "quiet_room_tone.wav")]) == 0
    assert "audio not indexed: silent audio" in capsys.readouterr().out
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["not_embedded"] == 3
    assert main(["stats"]) == 0
    assert "not embedded:  3 (the indexer could not use their audio" in capsys.readouterr().out


def test_a_deleted_file_is_not_offered_by_search(indexed):
    catalog, model, lib = indexed
    engine = SearchEngine(catalog, model)
    target = "door_wood_slam.wav"
    assert engine.search(target, k=3)[0].path.name == target  # an exact name ranks first
    (lib / "doors" / target).unlink()  # gone, and no scan since
    hits = engine.search(target, k=3)
    assert target not in [h.path.name for h in hits] and len(hits) == 3
    similar = engine.similar(by_name(catalog)["door_metal_creak.wav"], k=9)
    assert target not in [h.path.name for h in similar] and len(similar) == 8
