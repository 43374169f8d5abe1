#!/usr/bin/env bash
# The test command (README, .ci/run): set-up, lint, import contracts, then the offline test suite.
# Benchmarks (tests/benchmarks/) are run on demand, not here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/setup.sh --test
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

# A null PulseAudio sink, so the playback test plays through a real audio path and records it.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/soundsearch-xdg-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if command -v pulseaudio >/dev/null && ! pactl info >/dev/null 2>&1; then
  pulseaudio -D --exit-idle-time=-1 -n --load="module-null-sink sink_name=null" \
    --load=module-native-protocol-unix >/dev/null 2>&1 || echo "run.sh: pulseaudio did not start" >&2
fi

.venv/bin/ruff check soundsearch tests
.venv/bin/lint-imports
.venv/bin/python -m pytest tests --ignore=tests/benchmarks -q "$@"
