#!/usr/bin/env bash
# setup.sh — prepares the stock-client tests (idempotent): this folder's node_modules, from
# package-lock.json (@solana/web3.js 1.x, @solana/kit and @solana-program/system).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup.sh: node and npm are needed (Node.js 20.18 or newer), e.g. apt-get install -y nodejs npm" >&2
  exit 1
fi

if [ ! -d "$here/node_modules/@solana/kit" ] || [ ! -d "$here/node_modules/@solana/web3.js" ] \
  || [ ! -d "$here/node_modules/@solana-program/system" ]; then
  echo "setup.sh: installing the Solana client libraries (npm ci) in $here"
  (cd "$here" && npm ci --no-audit --no-fund --ignore-scripts)
fi

echo "setup.sh: ready — node $(node --version), @solana/web3.js $(node -p "require('$here/node_modules/@solana/web3.js/package.json').version"), @solana/kit $(node -p "require('$here/node_modules/@solana/kit/package.json').version")"
