#!/usr/bin/env bash
# Build a runnable one-folder bundle with PyInstaller: dist/soundsearch/ (plus dist/soundsearch.app on
# macOS). Run from a checkout after `bash packaging/setup.sh` (Linux) or the equivalent venv set-up:
#
#   bash packaging/build.sh            # build, then smoke-test the bundle
#   bash packaging/build.sh --check    # only check that the spec loads (fast, no build)
#
# The bundle carries torch (CPU), the default model head and the encoder weights: expect ~1.5 GB and
# several minutes. On Windows run the same steps in Git Bash, or call PyInstaller directly:
#   .venv\Scripts\python -m PyInstaller --noconfirm packaging\soundsearch.spec
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=.venv/Scripts/python.exe
# Build tools only, pinned (see pyproject [project.optional-dependencies] packaging).
"$PY" -m pip install -q --disable-pip-version-check --no-deps \
  "pyinstaller==6.22.3" "pyinstaller-hooks-contrib==2026.9" "altgraph==0.17.5"
if [ "${1:-}" = --check ]; then
  # Executes the spec's own Python (paths, data collection) without analysing or building anything.
  "$PY" - <<'PY'
import runpy, sys
from unittest import mock
import PyInstaller.building.build_main as bm
stub = mock.MagicMock()
names = dict(Analysis=stub, PYZ=stub, EXE=stub, COLLECT=stub, BUNDLE=stub, SPECPATH="packaging")
runpy.run_path("packaging/soundsearch.spec", init_globals=names)
print("spec ok:", len(stub.call_args_list), "build steps declared")
PY
  exit 0
fi
nice -n 10 "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/soundsearch.spec
# Smoke test: the bundled CLI runs, and the bundled app opens a window and quits (offscreen).
dist/soundsearch/soundsearch-cli --version
SOUNDSEARCH_HOME="$(mktemp -d)" QT_QPA_PLATFORM=offscreen SOUNDSEARCH_STARTUP_PROBE=1 dist/soundsearch/soundsearch
echo "build: dist/soundsearch/ is ready ($(du -sh dist/soundsearch | cut -f1))"
