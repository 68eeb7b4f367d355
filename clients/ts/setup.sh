#!/usr/bin/env bash
# setup.sh — prepares the TypeScript client (idempotent): node_modules from package-lock.json
# (@solana/kit, Codama, TypeScript), then dist/ from src/ (tsc).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup.sh: node and npm are needed (Node.js 20.18 or newer), e.g. apt-get install -y nodejs npm" >&2
  exit 1
fi

cd "$here"
if [ ! -x node_modules/.bin/tsc ] || [ ! -d node_modules/@solana/kit ] || [ ! -d node_modules/codama ]; then
  echo "setup.sh: installing the TypeScript client's packages (npm ci) in $here"
  npm ci --no-audit --no-fund --ignore-scripts
fi
npm run --silent build
echo "setup.sh: ready — @energy-utility/client built into $here/dist (TypeScript $(node -p "require('./node_modules/typescript/package.json').version"), @solana/kit $(node -p "require('./node_modules/@solana/kit/package.json').version"))"
