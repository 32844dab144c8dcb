#!/usr/bin/env node
// Runs a TypeScript entry point straight from source (migrations, seeds, benchmarks, the demo)
// with the SWC settings and path aliases of scripts/ts-register.cjs, the ones the build and jest use.
'use strict';
const path = require('node:path');
require('./ts-register.cjs').register();

const entry = process.argv[2];
if (!entry) {
  console.error('usage: run-ts.cjs <file.ts> [args…]');
  process.exit(2);
}
process.argv.splice(1, 1);
require(path.resolve(entry));
