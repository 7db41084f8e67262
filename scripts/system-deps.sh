#!/usr/bin/env bash
# Debian packages the project needs beyond Python: Chromium for the browser tests and for
# opening HTML reports headless, and Noto CJK fonts so Japanese renders in screenshots and PDFs.
# Idempotent and quick when everything is there. Without root or apt it says so and goes on:
# the tests that need these packages then fail with a clear message.
set -uo pipefail
wanted=(chromium fonts-noto-cjk)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: cannot install ${missing[*]} (needs root and apt-get); browser and PDF tests will fail" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
