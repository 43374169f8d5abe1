#!/usr/bin/env bash
# Adds more third-party sound packages to a dev library made by tests/benchmarks/fetch_dev_library.sh,
# for training the default model on a wider range of sounds (animals, doors, glass, fire, vehicles,
# tools, interfaces, weather...) than the dev library's game packages cover. Same layout:
#
#   bash tests/benchmarks/fetch_more_sounds.sh OUT_DIR      (OUT_DIR: the dev library, e.g. ~/dev-library)
#
# OUT_DIR/<package>/<original relative path>   audio files as shipped (music folders skipped)
# OUT_DIR/SOURCES-more.txt                     package, version, licence pointer per source
# Every file comes from a Debian package (downloaded and unpacked, nothing installed). Licences are
# mixed (GPL, CC-BY-SA, CC-BY, CC0, public domain): never commit these files to the project.
# None of these packages is one of the default model's held-out packages (wesnoth, widelands,
# minetest); `soundsearch train-default` also drops any training file whose bytes equal a held-out
# file's. Re-runs reuse downloads. Needs apt-get (root), python3, ~4 GB of temporary disk.
set -euo pipefail
OUT=${1:?usage: fetch_more_sounds.sh OUT_DIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${SOUNDSEARCH_CORPUS_CACHE:-$HOME/.cache/soundsearch-dev-corpus}
mkdir -p "$WORK/debs" "$WORK/x"

PKGS="tuxpaint-stamps-default tuxpaint-data freedroidrpg-data flare-game supertux-data cube2-data
freeciv-data warmux-data boswars-data freecol naev-data endless-sky-data trigger-rally-data
lincity-ng-data scorched3d-data blobwars-data starfighter-data marsshooter-data neverball-data
xmoto-data btanks-data enigma-data ri-li-data teeworlds-data bzflag-data sound-theme-freedesktop
oxygen-sounds lmms-common kapman granatier kbounce aisleriot tuxtype-data manaplus-data
powermanga-data holotz-castle-data zaz-data ardentryst redeclipse-data hydrogen-drumkits
sonic-pi-samples simutrans-pak64 freeorion-data flightgear-data-base openarena-data openarena-088-data nexuiz-data
torcs-data chromium-bsu-data stormbaancoureur-data gltron tecnoballz-data lbreakout2-data pinball-data
spacezero raincat-data tumiki-fighters-data rrootage-data parsec47-data gunroar-data titanion-data
mu-cade-data torus-trooper-data noiz2sa-data quadrapassel wing-data"

apt-cache show tuxpaint-data >/dev/null 2>&1 || apt-get update -qq
cd "$WORK/debs"
for p in $PKGS; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -q "$p" >/dev/null || echo "skipped $p: not available" >&2
done
: > "$OUT/SOURCES-more.txt"
for p in $PKGS; do
  deb=$(ls "$WORK/debs/${p}"_*.deb 2>/dev/null | head -1) || true
  [ -n "$deb" ] || continue
  x="$WORK/x/$p"
  [ -d "$x" ] || { mkdir -p "$x.part" && dpkg -x "$deb" "$x.part" && mv "$x.part" "$x"; }
  python3 - "$x" "$OUT/$p" <<'PY'
import os, re, shutil, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
keep = (".wav", ".ogg", ".oga", ".flac", ".mp3", ".aif", ".aiff", ".opus")
music = re.compile(r"(^|/)(music|musics|songs|soundtrack)(/|$)", re.I)
# Spoken words, not sound effects: Tux Paint's stamp descriptions and their translations
# (badger_desc_fr.ogg, 7_de.ogg beside 7.ogg), and its spoken digits and letters.
spoken = re.compile(r"_desc(_[a-z]{2,3}(_[a-z]{2,4})?)?\.\w+$|(^|/)stamps/symbols/(math|alphabets?)/", re.I)
n = 0
for dp, _, files in os.walk(src):
    names = set(files)
    for f in files:
        rel = os.path.relpath(os.path.join(dp, f), src)
        if f.lower().endswith((".pk3", ".zip")) and not os.path.islink(os.path.join(dp, f)):
            # Quake-style game archives (OpenArena, Nexuiz): the sounds sit inside zips.
            with zipfile.ZipFile(os.path.join(dp, f)) as z:
                for info in z.infolist():
                    name = info.filename
                    if name.lower().endswith(keep) and not music.search(name) and ".." not in name:
                        out = os.path.join(dst, os.path.splitext(f)[0], name)
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        with z.open(info) as fin, open(out, "wb") as fout:
                            shutil.copyfileobj(fin, fout)
                        n += 1
            continue
        if not f.lower().endswith(keep) or music.search(rel) or os.path.islink(os.path.join(dp, f)):
            continue
        m = re.match(r"(.+)_[a-z]{2,3}(_[A-Za-z]{2,4})?(\.\w+)$", f)
        if spoken.search(rel) or (m and m.group(1) + m.group(3) in names and "tuxpaint" in src):
            continue
        for prefix in ("usr/share/games/", "usr/share/"):
            if rel.startswith(prefix):
                rel = rel[len(prefix):]
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(os.path.join(dp, f), os.path.join(dst, rel))
        n += 1
print(f"{os.path.basename(dst)}: {n} audio files")
PY
  echo "$p $(dpkg-deb -f "$deb" Version) licence: /usr/share/doc/$p/copyright inside the package" >> "$OUT/SOURCES-more.txt"
done
du -sh "$OUT"
