"""paths, settings, atomic writes and the job protocol."""

from __future__ import annotations

import json
import sys

import pytest

from soundsearch import paths
from soundsearch.atomic import atomic_path, atomic_write_text
from soundsearch.jobs import Cancelled, CancelToken, Progress, run
from soundsearch.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


def test_home_overrides_every_location(home):
    for location in (paths.data_dir(), paths.config_dir(), paths.cache_dir(), paths.catalog_path(),
                     paths.index_dir(), paths.models_dir(), paths.settings_path()):
        assert home in location.parents


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG applies on Linux")
def test_without_home_locations_follow_platform(monkeypatch, tmp_path):
    monkeypatch.delenv("SOUNDSEARCH_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert paths.data_dir() == tmp_path / "xdg-data" / "soundsearch"


def test_settings_round_trip_and_defaults(home):
    assert load_settings() == Settings()  # no file yet
    s = Settings(fusion_weight=0.5, autoplay=False, output_device="null", extra={"last_query": "door"})
    save_settings(s)
    assert load_settings() == s
    assert json.loads(paths.settings_path().read_text())["schema_version"] == SCHEMA_VERSION


def test_broken_or_foreign_settings_fall_back_to_defaults(home):
    paths.ensure(paths.config_dir())
    paths.settings_path().write_text("{not json")
    assert load_settings() == Settings()
    paths.settings_path().write_text(json.dumps({"autoplay": False, "from_the_future": 1}))
    assert load_settings().autoplay is False


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "index.bin"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.bin"]  # no temp left behind


def _counting_job(n, cancel=None):
    for i in range(n):
        if cancel is not None:
            cancel.check()
        yield Progress("count", done=i + 1, total=n)
    return n * 10


def test_run_drains_job_and_returns_result():
    seen = []
    assert run(_counting_job(3), on_progress=lambda p: seen.append(p.done)) == 30
    assert seen == [1, 2, 3]


def test_cancel_stops_job_between_steps():
    token = CancelToken()
    seen = []

    def on_progress(p):
        seen.append(p.done)
        if p.done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        run(_counting_job(10, token), on_progress=on_progress, cancel=token)
    assert seen == [1, 2]


def test_progress_fraction_and_eta():
    p = Progress("x", done=5, total=10, started=0.0)
    assert p.fraction == 0.5
    assert p.eta_seconds is not None and p.eta_seconds > 0
    assert Progress("x").fraction is None and Progress("x").eta_seconds is None
