#!/usr/bin/env node
// Runs a TypeScript entry point straight from source (migrations, seeds, benchmarks)
// with the same SWC settings the build and jest use, so no separate ts-node setup drifts.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '..');
const swcrc = JSON.parse(fs.readFileSync(path.join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;
delete swcrc.jsc.baseUrl;
delete swcrc.jsc.paths;
swcrc.sourceMaps = 'inline';

const aliasRe = /^@oq\/([a-z-]+)(\/.*)?$/;
const originalResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const m = aliasRe.exec(request);
  if (m) request = path.join(root, 'libs', m[1], 'src', m[2] ?? '');
  return originalResolve.call(this, request, ...rest);
};

require.extensions['.ts'] = function (module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = transformSync(source, { ...swcrc, filename, swcrc: false });
  module._compile(code, filename);
};

process.setSourceMapsEnabled(true);
const entry = process.argv[2];
if (!entry) {
  console.error('usage: run-ts.cjs <file.ts> [args…]');
  process.exit(2);
}
process.argv.splice(1, 1);
require(path.resolve(entry));
