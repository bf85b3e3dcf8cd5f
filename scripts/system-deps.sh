#!/usr/bin/env bash
# Install the Debian packages gre's tools need, if they are missing: tesseract (OCR) with
# orientation/script detection and the language packs for the scripts gre reads, and the fonts
# the example sign and the OCR tests are drawn with (DejaVu, Noto, Noto CJK). With --test, also
# what the export tests use: GDAL's ogrinfo (reads the GeoJSON and KML back) and Chromium
# (renders the HTML report), and tmux (drives the interactive review in a real terminal).
set -euo pipefail

need=()
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
langs=$(tesseract --list-langs 2>/dev/null || true)
for lang in eng fra osd rus ell ara heb hin tha chi_sim jpn kor; do
  grep -qx "$lang" <<<"$langs" || need+=("tesseract-ocr-${lang//_/-}")
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf ] || need+=(fonts-noto-core)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
if [ "${1:-}" = "--test" ]; then  # only the tests need these two (about 530 MB installed)
  command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v tmux >/dev/null 2>&1 || need+=(tmux)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "error: need root (or sudo) to install: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
