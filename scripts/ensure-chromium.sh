#!/usr/bin/env bash
# Make headless Chromium available (Debian package) for the visual checks; print its path.
set -euo pipefail
for candidate in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Chromium (Debian package)..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >&2
  echo /usr/bin/chromium
  exit 0
fi
echo "Chromium is missing: install it (Debian: apt-get install chromium)" >&2
exit 1
