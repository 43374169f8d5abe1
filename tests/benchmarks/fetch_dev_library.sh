#!/usr/bin/env bash
# Builds a real, third-party sound library for trying soundsearch as a user would, and for
# training/tuning its default model. Every file ships in a Debian package (game and app data:
# sound effects with descriptive folder and file names, some with embedded tags, a few with
# sidecars). Nothing is installed: packages are downloaded and unpacked, audio is copied.
#
#   bash tests/benchmarks/fetch_dev_library.sh OUT_DIR [--light]
#
# tests/benchmarks/fetch_more_sounds.sh then adds more packages (the default model was trained on
# both); the benchmarks in this folder and `soundsearch train-default` read OUT_DIR.
#
# OUT_DIR/<package>/<original relative path>   the audio files, names and folders as shipped
# OUT_DIR/SOURCES.txt                          package, version, licence pointer per source
# --light skips 0ad-data (a 1.4 GB download): about 3,400 files and 560 MB without it, ~1,000 more with it.
# Needs apt-get (root), python3, ~5 GB of temporary disk with 0ad-data. Re-runs reuse downloads.
# Licences are mixed (GPL, CC-BY-SA, CC-BY, CC0): never commit these files to the project.
set -euo pipefail
OUT=${1:?usage: fetch_dev_library.sh OUT_DIR [--light]}
LIGHT=${2:-}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${SOUNDSEARCH_CORPUS_CACHE:-$HOME/.cache/soundsearch-dev-corpus}
mkdir -p "$WORK/debs" "$WORK/x"

PKGS="widelands-data wesnoth-1.16-data minetest-data hedgewars-data supertuxkart-data megaglest-data
warzone2100-data extremetuxracer-data pingus-data frozen-bubble-data colobot-common-sounds bucklespring-data"
[ "$LIGHT" = --light ] || PKGS="$PKGS 0ad-data"

apt-cache show widelands-data >/dev/null 2>&1 || apt-get update -qq
cd "$WORK/debs"
for p in $PKGS; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -q "$p" || echo "skipped $p: not available" >&2
done
: > "$OUT/SOURCES.txt"
for p in $PKGS; do
  deb=$(ls "$WORK/debs/${p}"_*.deb 2>/dev/null | head -1) || true
  [ -n "$deb" ] || continue
  x="$WORK/x/$p"
  if [ ! -d "$x" ]; then
    mkdir -p "$x"
    if [ "$p" = 0ad-data ]; then   # the sounds sit inside a 3.2 GB zip; keep only non-music audio
      dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" ./usr/share/games/0ad/mods/public/public.zip
      python3 - "$x/usr/share/games/0ad/mods/public/public.zip" "$x/audio" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    if i.filename.startswith("audio/") and not i.filename.startswith("audio/music"):
        z.extract(i, sys.argv[2])
PY
      rm -rf "$x/usr"
    else
      dpkg -x "$deb" "$x"
    fi
  fi
  python3 - "$x" "$OUT/$p" <<'PY'
import os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
keep = (".wav", ".ogg", ".oga", ".flac", ".mp3", ".aif", ".aiff", ".opus")
n = 0
for dp, _, files in os.walk(src):
    for f in files:
        if f.lower().endswith(keep):
            rel = os.path.relpath(os.path.join(dp, f), src)
            for prefix in ("usr/share/games/", "usr/share/"):
                if rel.startswith(prefix):
                    rel = rel[len(prefix):]
            os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
            shutil.copy2(os.path.join(dp, f), os.path.join(dst, rel))
            n += 1
print(f"{os.path.basename(dst)}: {n} audio files")
PY
  echo "$p $(dpkg-deb -f "$deb" Version) licence: /usr/share/doc/$p/copyright inside the package" >> "$OUT/SOURCES.txt"
done
du -sh "$OUT"
