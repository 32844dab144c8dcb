#!/usr/bin/env bash
# Runs before `npm start` and `npm test`: installs npm dependencies on a fresh
# clone (or when package-lock.json changed since the last install).
set -euo pipefail
cd "$(dirname "$0")/.."

node -e '
const [maj, min] = process.versions.node.split(".").map(Number);
if (maj < 20 || (maj === 20 && min < 19)) {
  console.error(`OneQueue needs Node.js >= 20.19 (found ${process.versions.node}): NestJS 12 and zod 4 are ES modules loaded with require().`);
  process.exit(1);
}'

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
