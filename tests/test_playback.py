"""The audition player: a real playback through a null PulseAudio sink, recorded from its monitor,
and the player's transport logic (regions, loops, volume, cache) on its silent stream."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import soundfile as sf

from soundsearch.audio.audiocache import AudioCache, to_channels
from soundsearch.audio.playback import Player

PULSE_TOOLS = ("pulseaudio", "pactl", "parec")
MISSING = [t for t in PULSE_TOOLS if shutil.which(t) is None]
RATE = 44100


def _pactl_ok(env: dict) -> bool:
    try:
        return subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _has_null_sink(env: dict) -> bool:
    out = subprocess.run(["pactl", "list", "short", "sinks"], env=env, capture_output=True, text=True,
                         timeout=5)
    return any(line.split("\t")[1:2] == ["null"] for line in out.stdout.splitlines())


@pytest.fixture(scope="module")
def pulse_env():
    """A PulseAudio server with a sink called "null": the one tests/run.sh started, or our own
    (started here in a private runtime folder and stopped afterwards)."""
    if MISSING:
        pytest.skip(f"real playback test needs PulseAudio ({', '.join(MISSING)} not installed; "
                    "Debian: apt-get install pulseaudio pulseaudio-utils libportaudio2)")
    env = dict(os.environ)
    if env.get("XDG_RUNTIME_DIR") and _pactl_ok(env) and _has_null_sink(env):
        yield env
        return
    runtime = tempfile.mkdtemp(prefix="soundsearch-pulse-")
    os.chmod(runtime, 0o700)
    env.update(XDG_RUNTIME_DIR=runtime, PULSE_SERVER=f"unix:{runtime}/pulse/native")
    env.pop("PULSE_RUNTIME_PATH", None)
    subprocess.run(["pulseaudio", "-D", "--exit-idle-time=-1", "-n", "--load=module-null-sink sink_name=null",
                    "--load=module-native-protocol-unix"], env=env, capture_output=True, timeout=30)
    deadline = time.monotonic() + 10
    while not _pactl_ok(env):
        if time.monotonic() > deadline:
            pytest.fail("pulseaudio did not start")
        time.sleep(0.1)
    yield env
    subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=10)
    shutil.rmtree(runtime, ignore_errors=True)


# Run in a child process: PortAudio lists devices once, when it initialises, so a server started
# after another test imported sounddevice would be invisible to this process.
PLAY_SCRIPT = """
import json, sys, time
from soundsearch.audio.playback import Player
player = Player(device=sys.argv[2], volume=1.0)
player.warm()
player.load(sys.argv[1])
time.sleep(1.0)  # PulseAudio takes a moment to start pulling from a fresh stream
player.play(sys.argv[1])
while player.playing:
    time.sleep(0.01)
time.sleep(0.3)
print(json.dumps({"start_latency": player.first_audio_at - player.started_at,
                  "rate": player.samplerate, "null": player.is_null}))
player.close()
"""


@pytest.mark.audio
def test_real_playback_reaches_the_sink(pulse_env, tmp_path):
    seconds = 1.0
    t = np.arange(int(seconds * RATE)) / RATE
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), RATE, subtype="PCM_16")
    raw = tmp_path / "monitor.raw"
    with open(raw, "wb") as out:
        rec = subprocess.Popen(["parec", "-d", "null.monitor", "--raw", "--format=s16le", f"--rate={RATE}",
                                "--channels=2", "--latency-msec=20"], stdout=out, env=pulse_env)
        try:
            time.sleep(0.5)
            played = subprocess.run([sys.executable, "-c", PLAY_SCRIPT, str(wav), "pulse"], env=pulse_env,
                                    capture_output=True, text=True, timeout=60)
            time.sleep(0.3)
        finally:
            rec.terminate()
            rec.wait(timeout=10)
    assert played.returncode == 0, played.stderr
    report = json.loads(played.stdout.strip().splitlines()[-1])
    assert report["null"] is False, "the player fell back to its silent stream: no device opened"
    recorded = np.frombuffer(raw.read_bytes(), dtype="<i2").reshape(-1, 2).astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(recorded).max(axis=1) > 0.05)
    assert len(loud), "the recording of the sink is silent"
    heard = (loud[-1] - loud[0] + 1) / RATE
    print(f"\nreal playback: heard {heard:.3f} s of a {seconds:.3f} s file; start latency "
          f"{report['start_latency'] * 1000:.1f} ms (warm cache, stream open)")
    assert abs(heard - seconds) < 0.03, f"heard {heard:.3f} s of a {seconds} s file"
    level = float(np.sqrt(np.mean(recorded[loud[0]:loud[-1]] ** 2)))
    assert 0.30 < level < 0.40, f"level {level:.3f}; a 0.5 sine has RMS 0.354"
    # Start latency is printed, not asserted: timings go in benchmarks, not in tests.


# -- transport logic on the silent stream ----------------------------------------------------------

@pytest.fixture
def player():
    p = Player(backend="null")
    yield p
    p.close()


def _wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_plays_a_file_to_its_end_and_reports_position(player, make_wav, tmp_path):
    wav = make_wav(tmp_path / "a.wav", seconds=0.3, sr=22050)
    player.play(wav)
    assert player.playing and player.source == wav
    _wait(lambda: not player.playing)
    assert abs(player.position - 0.3) < 0.01
    assert abs(player.duration - 0.3) < 0.01


def test_region_loop_and_stop(player, make_wav, tmp_path):
    wav = make_wav(tmp_path / "b.wav", seconds=1.0)
    player.play(wav, start=0.2, end=0.3, loop=True)
    time.sleep(0.4)  # several times the region: still playing, inside it
    assert player.playing and 0.2 <= player.position <= 0.3
    player.stop()
    assert not player.playing


def test_plays_arrays_and_applies_volume(player):
    captured = []
    real = player._callback

    def spy(outdata, frames, t, status):
        real(outdata, frames, t, status)
        if player.playing or outdata.any():
            captured.append(outdata.copy())

    player._ensure_stream()._callback = spy
    player.play(np.full(44100, 0.5, np.float32), sample_rate=44100, volume=0.5)
    _wait(lambda: len(captured) >= 3)
    player.stop()
    block = captured[1]
    assert np.allclose(block, 0.25) and block.shape[1] == 2  # mono copied to both sides, at half volume
    with pytest.raises(ValueError):
        player.play(np.zeros(10, np.float32))


def test_unknown_output_device_falls_back_to_silence(make_wav, tmp_path):
    p = Player(device="no such device anywhere")
    try:
        p.play(make_wav(tmp_path / "c.wav", seconds=0.1))
        assert p.is_null
    finally:
        p.close()


def test_cache_is_lru_by_bytes_and_notices_edits(make_wav, tmp_path):
    cache = AudioCache(max_bytes=3 * 44100 * 2 * 4)  # room for three 1-second stereo float buffers
    files = [make_wav(tmp_path / f"{i}.wav", seconds=1.0, freq=200 + i) for i in range(4)]
    for f in files[:3]:
        cache.get(f, 44100, 2)
    cache.get(files[0], 44100, 2)  # touch: now the most recent
    cache.get(files[3], 44100, 2)  # evicts files[1], the least recent
    assert cache.has(files[0], 44100, 2) and not cache.has(files[1], 44100, 2)
    assert cache.hits == 1 and cache.misses == 4
    sf.write(str(files[0]), np.zeros(100, np.float32), 44100)  # edited: decoded again
    assert len(cache.get(files[0], 44100, 2)) == 100


def test_to_channels_resamples_and_maps_channels():
    mono = np.ones(48000, np.float32)
    out = to_channels(mono, 48000, 44100, 2)
    assert out.shape == (44100, 2) and out.dtype == np.float32
    surround = np.ones((100, 6), np.float32)
    assert to_channels(surround, 44100, 44100, 2).shape == (100, 2)
    assert to_channels(np.ones((100, 2), np.float32), 44100, 44100, 1).shape == (100, 1)


def test_varispeed_on_a_long_sound_starts_with_its_head_and_swaps_in_the_whole(tmp_path):
    """A long sound is not resampled whole before it is heard: its next seconds are, the rest
    follows on a thread, and the swap keeps the point of the sound being played."""
    path = tmp_path / "long.wav"
    t = np.arange(30 * RATE) / RATE
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), RATE)
    player = Player(backend="null")
    try:
        player.load(path)
        player.set_varispeed(semitones=12)
        player.play(path, start=10.0)
        assert player._base > 0, "the whole sound was resampled before the first sample"
        assert abs(player.position - 10.0) < 0.05 and abs(player.duration - 30.0) < 1e-3
        deadline = time.monotonic() + 10
        while player._base and time.monotonic() < deadline:
            time.sleep(0.01)
        assert player._base == 0 and len(player._buf) == pytest.approx(15 * RATE, abs=2)
        heard = player.position
        assert 10.0 <= heard < 12.0  # it went on from where it was, at twice the speed
        while player.position <= heard and time.monotonic() < deadline:  # (a busy machine)
            time.sleep(0.01)
        heard = player.position
        assert 10.0 < heard < 12.0
        assert player._end == len(player._buf)  # to the sound's end, not the head's
        player.set_varispeed(semitones=0, reverse=True)  # now backwards from the same point
        assert abs(player.position - heard) < 0.1 and player.reverse
        time.sleep(0.2)
        assert player.position < heard
    finally:
        player.close()
