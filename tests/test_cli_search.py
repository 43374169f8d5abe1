"""The index / search / similar commands as a user runs them: output, JSON and batch formats."""

from __future__ import annotations

import json

import pytest

from soundsearch.cli import main

pytest_plugins = ["search_fixtures"]  # fixtures: library, tiny_model


@pytest.fixture
def indexed_cli(home, library, model_dir, capsys):
    assert main(["index", str(library), "--model", model_dir]) == 0
    out = capsys.readouterr().out
    assert "scan: 10 new" in out and "index: 10 files embedded" in out and "audio-s/s" in out
    return library, model_dir


def run_json(capsys, *argv) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_search_text_output(indexed_cli, capsys):
    _, model = indexed_cli
    assert main(["search", "door slam", "-k", "3", "--model", model]) == 0
    out = capsys.readouterr().out
    ranked = [ln for ln in out.splitlines() if ln[:4].strip().endswith(".")]
    assert [ln[:4] for ln in ranked] == ["  1.", "  2.", "  3."] and str(ranked[0]).count("/") > 1
    assert "matched: " in out


def test_search_json_and_filters(indexed_cli, capsys):
    lib, model = indexed_cli
    data = run_json(capsys, "search", "glass", "-k", "5", "--json", "--model", model)
    assert data["query"] == "glass" and len(data["hits"]) == 5
    hit = data["hits"][0]
    assert {"id", "path", "score", "duration", "sample_rate", "channels", "format", "matched"} <= hit.keys()
    assert all(h["path"].startswith(str(lib)) for h in data["hits"])
    scores = [h["score"] for h in data["hits"]]
    assert scores == sorted(scores, reverse=True)
    flt = run_json(capsys, "search", "sound", "--json", "--channels", "2", "--max-duration", "1.0",
                   "--model", model)
    assert {h["channels"] for h in flt["hits"]} == {2} and all(h["duration"] <= 1.0 for h in flt["hits"])
    inline = run_json(capsys, "search", "sound -music format:flac", "--json", "--model", model)
    assert [h["format"] for h in inline["hits"]] == ["flac"]
    for mode in ("audio", "metadata"):
        assert run_json(capsys, "search", "rain", "--json", "--mode", mode, "--model", model)["hits"]


def test_batch_queries(indexed_cli, capsys, tmp_path):
    lib, model = indexed_cli
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": "a", "text": "door slam"}\n\n{"qid": 7, "text": "birds in a forest"}\n')
    assert main(["search", "--queries", str(queries), "--json", "-k", "4", "--model", model]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["qid"] for x in lines] == ["a", 7]
    for x in lines:
        assert set(x) == {"qid", "ranked", "scores"} and len(x["ranked"]) == len(x["scores"]) == 4
        assert all(p.startswith("/") and p.startswith(str(lib)) for p in x["ranked"])
        assert x["scores"] == sorted(x["scores"], reverse=True)
    queries.write_text("not json\n")
    assert main(["search", "--queries", str(queries), "--json", "--model", model]) == 2
    assert "bad query line" in capsys.readouterr().err


def test_similar_and_refine(indexed_cli, capsys):
    lib, model = indexed_cli
    rain = lib / "nature" / "rain_roof_heavy.wav"
    data = run_json(capsys, "similar", str(rain), "-k", "3", "--json", "--model", model)
    assert len(data["hits"]) == 3 and str(rain) not in [h["path"] for h in data["hits"]]
    top = run_json(capsys, "search", "rain_roof_heavy", "-k", "1", "--json", "--model", model)["hits"][0]
    rain_id = top["id"]
    by_id = run_json(capsys, "similar", str(rain_id), "-k", "3", "--json", "--model", model)
    assert [h["id"] for h in by_id["hits"]] == [h["id"] for h in data["hits"]]
    by_sound = run_json(capsys, "similar", str(rain_id), "-k", "9", "--by", "sound", "--json",
                        "--model", model)
    assert len(by_sound["hits"]) == 9 and rain_id not in [h["id"] for h in by_sound["hits"]]
    assert [h["id"] for h in by_sound["hits"]] != [h["id"] for h in
                                                    run_json(capsys, "similar", str(rain_id), "-k", "9",
                                                             "--json", "--model", model)["hits"]]
    first = run_json(capsys, "search", "a sound", "-k", "10", "--json", "--model", model)["hits"]
    worst, best = first[-1]["id"], first[0]["id"]
    refined = run_json(capsys, "search", "a sound", "-k", "10", "--json", "--like", str(worst),
                       "--dislike", str(best), "--model", model)["hits"]
    ids = [h["id"] for h in refined]
    assert best not in ids and ids.index(worst) < 9
    assert main(["similar", "/no/such/file.wav", "--model", model]) == 2


def test_index_again_is_incremental_and_reports_removals(indexed_cli, capsys):
    lib, model = indexed_cli
    (lib / "glass" / "glass_clink.flac").unlink()
    assert main(["index", str(lib), "--model", model]) == 0
    out = capsys.readouterr().out
    assert "1 deleted" in out and "index: 0 files embedded" in out and "1 removed" in out
    assert "9 sounds searchable" in out


def test_index_without_folders_rescans_the_library(indexed_cli, capsys):
    lib, model = indexed_cli
    (lib / "glass" / "glass_clink.flac").unlink()
    assert main(["index", "--no-scan", "--model", model]) == 0  # the catalog as it was: still 10
    assert "10 sounds searchable" in capsys.readouterr().out
    assert main(["index", "--model", model]) == 0
    out = capsys.readouterr().out
    assert "1 deleted" in out and "1 removed" in out and "9 sounds searchable" in out


def test_helpful_errors(home, model_dir, capsys, tmp_path):
    assert main(["index", "--model", model_dir]) == 2
    assert "library is empty" in capsys.readouterr().err
    assert main(["search", "door", "--model", model_dir]) == 1
    assert "the library is empty" in capsys.readouterr().err
    assert main(["search", "--model", model_dir]) == 2
    with pytest.raises(SystemExit, match="cannot load model"):
        main(["search", "door", "--model", str(tmp_path / "no-model")])


def test_search_right_after_a_scan_lists_name_matches_before_any_index(home, library, model_dir, capsys):
    assert main(["scan", str(library)]) == 0
    capsys.readouterr()
    assert main(["search", "glass", "--json", "--model", model_dir]) == 0
    captured = capsys.readouterr()
    found = [h["path"].rsplit("/", 1)[1] for h in json.loads(captured.out)["hits"]]
    assert set(found[:2]) == {"glass_break_small.wav", "glass_clink.flac"}
    assert "10 of 10 sounds are not indexed" in captured.err
    assert main(["search", "glass_clink", "--model", model_dir]) == 0  # the exact name: first
    captured = capsys.readouterr()
    assert "1." in captured.out and "glass_clink.flac" in captured.out.splitlines()[0]
    # filters work too, and nothing else matches
    data = run_json(capsys, "search", "glass dur:<0.35", "--json", "--model", model_dir)
    assert [h["path"].rsplit("/", 1)[1] for h in data["hits"]] == ["glass_clink.flac"]
    # after `index`, the same search has every file embedded and no note
    assert main(["index", "--model", model_dir]) == 0
    capsys.readouterr()
    assert main(["search", "glass", "--model", model_dir]) == 0
    assert "not indexed" not in capsys.readouterr().err
