#!/usr/bin/env bash
# Makes ../static/fonts/public-sans/PublicSans-{Regular,Bold}.woff2 from the Public Sans
# files in the USWDS package: subset to Latin, Latin Extended and Vietnamese, without
# hinting, keeping the features that place Vietnamese marks. The output is committed,
# so this runs only when the USWDS version or the character set changes:
#   cd assets && npm ci && ./subset-fonts.sh
# It needs Python 3 and installs fonttools (with brotli, for woff2) in a throwaway venv.
set -euo pipefail
cd "$(dirname "$0")"

src=node_modules/@uswds/uswds/dist/fonts/public-sans
out=../static/fonts/public-sans
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "fonttools==4.*" brotli

# Basic Latin, Latin-1, Latin Extended-A/B, IPA/spacing marks, combining marks used by
# Vietnamese, Latin Extended Additional (Vietnamese precomposed letters), punctuation,
# currency and a few symbols (same ranges as Google Fonts' latin, latin-ext, vietnamese).
unicodes="U+0000-00FF,U+0100-024F,U+0259,U+02BB-02BC,U+02C6-02C7,U+02C9,U+02D8-02DD,"
unicodes+="U+0300-0304,U+0306,U+0308-0309,U+030C,U+0323,U+0327-0329,U+1E00-1EFF,"
unicodes+="U+2000-206F,U+20A0-20C0,U+2113,U+2122,U+2190-2193,U+2212,U+2215,U+FEFF,U+FFFD"

mkdir -p "$out"
for weight in Regular Bold; do
  "$venv/bin/pyftsubset" "$src/PublicSans-$weight.ttf" \
    --unicodes="$unicodes" \
    --layout-features="kern,liga,calt,ccmp,locl,mark,mkmk,tnum" \
    --no-hinting --desubroutinize \
    --name-IDs="0,1,2,3,4,5,6,13,14" \
    --flavor=woff2 \
    --output-file="$out/PublicSans-$weight.woff2"
  echo "$out/PublicSans-$weight.woff2: $(wc -c <"$out/PublicSans-$weight.woff2") bytes"
done
