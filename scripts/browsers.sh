#!/usr/bin/env bash
# Install the browsers the panel's end-to-end test drives (Debian's chromium and firefox-esr:
# Playwright's and Puppeteer's own downloads are out of reach) when they are missing.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "browsers: ${missing[*]} missing and no apt-get here; the browser test will say so" >&2
  exit 0
fi
echo "browsers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
