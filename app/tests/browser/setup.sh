#!/usr/bin/env bash
# setup.sh — prepares the browser tests (idempotent): Debian's Chromium at /usr/bin/chromium and
# this folder's node_modules (playwright-core from package-lock.json; it downloads no browser).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup.sh: installing Chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends chromium
  else
    echo "setup.sh: Chromium is missing at $chromium. Install it as root, then run this again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
    echo "(or point CHROMIUM at another Chromium binary)" >&2
    exit 1
  fi
  if [ ! -x "$chromium" ]; then
    echo "setup.sh: apt-get installed chromium but $chromium is still missing" >&2
    exit 1
  fi
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup.sh: node and npm are needed (Node.js 20 or newer), e.g. apt-get install -y nodejs npm" >&2
  exit 1
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "setup.sh: installing playwright-core (npm ci) in $here"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

echo "setup.sh: ready — $("$chromium" --version 2>/dev/null | tail -n 1), playwright-core $(node -p "require('$here/node_modules/playwright-core/package.json').version")"
