#!/usr/bin/env bash
# Compiles every app and lib to CommonJS under dist/ with SWC (decorator metadata
# for NestJS DI; tsconfig path aliases rewritten to relative requires).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
# .swcrc plus tsconfig.json's path aliases (scripts/ts-register.cjs), so `@oq/*` has one source.
config=$(mktemp --suffix=.swcrc.json)
trap 'rm -f "$config"' EXIT
node -e 'process.stdout.write(JSON.stringify(require("./scripts/ts-register.cjs").swcBuildConfig()))' > "$config"
npx swc apps libs -d dist --config-file "$config" --ignore "**/*.spec.ts" --quiet
# Non-TS assets some apps serve (widget pages, templates) are copied alongside.
find apps libs -type f \( -name "*.html" -o -name "*.css" -o -name "*.hbs" \) -not -path "*/node_modules/*" \
  -exec sh -c 'mkdir -p "dist/$(dirname "$1")" && cp "$1" "dist/$1"' _ {} \;
# The chat widget ships prebuilt so production images need neither esbuild nor its sources.
node dist/apps/chat-service/src/widget/bundle-cli.js >/dev/null
echo "build: dist/ ready (apps, libs, chat widget)"
