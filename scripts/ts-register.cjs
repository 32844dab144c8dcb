'use strict';
// The one source of how TypeScript here is compiled and how `@oq/*` resolves: the SWC transform is
// .swcrc (without paths), the path aliases are tsconfig.json's `paths` (what tsc checks against).
// Everything else derives from these two files: the build (scripts/build.sh, swcBuildConfig),
// jest (jest.config.js, jestModuleNameMapper), TypeScript run from source (scripts/run-ts.cjs,
// register) and email-service's parser threads when the app itself runs from source.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const ROOT = path.resolve(__dirname, '..');

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** tsconfig.json's `paths`: [{ alias: '@oq/database', wildcard: true|false, target: 'libs/database/src' }]. */
function aliases(root = ROOT) {
  const { compilerOptions } = readJson(path.join(root, 'tsconfig.json'));
  return Object.entries(compilerOptions.paths ?? {}).map(([alias, [target]]) => ({
    alias: alias.replace(/\/\*$/, ''),
    wildcard: alias.endsWith('/*'),
    target: target.replace(/\/\*$/, ''),
  }));
}

/** The SWC options of .swcrc for in-memory transforms (jest, run-ts): no file-relative settings. */
function swcOptions(root = ROOT) {
  const swcrc = readJson(path.join(root, '.swcrc'));
  delete swcrc.$schema;
  return swcrc;
}

/** .swcrc plus tsconfig's aliases, for the CLI build that rewrites `@oq/*` imports into relative ones. */
function swcBuildConfig(root = ROOT) {
  const swcrc = readJson(path.join(root, '.swcrc'));
  swcrc.jsc.baseUrl = root;
  swcrc.jsc.paths = Object.fromEntries(
    aliases(root).flatMap(({ alias, wildcard, target }) =>
      wildcard ? [[`${alias}/*`, [`${target}/*`]]] : [[alias, [target]]],
    ),
  );
  return swcrc;
}

/** jest's moduleNameMapper for the same aliases. */
function jestModuleNameMapper(root = ROOT) {
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return Object.fromEntries(
    aliases(root).map(({ alias, wildcard, target }) =>
      wildcard ? [`^${escape(alias)}/(.*)$`, `<rootDir>/${target}/$1`] : [`^${escape(alias)}$`, `<rootDir>/${target}`],
    ),
  );
}

/** Resolves an `@oq/*` request to its file path, or returns it unchanged. */
function resolveAlias(request, root = ROOT, list = aliases(root)) {
  for (const { alias, wildcard, target } of list) {
    if (request === alias) return path.join(root, target);
    if (wildcard && request.startsWith(`${alias}/`)) return path.join(root, target, request.slice(alias.length + 1));
  }
  return request;
}

/** Makes this process run .ts files (SWC, inline source maps) with the aliases resolved. */
function register(root = ROOT) {
  const list = aliases(root);
  const options = { ...swcOptions(root), sourceMaps: 'inline' };
  const { transformSync } = require('@swc/core');
  const originalResolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return originalResolve.call(this, request.startsWith('@') ? resolveAlias(request, root, list) : request, ...rest);
  };
  require.extensions['.ts'] = function (module, filename) {
    const { code } = transformSync(fs.readFileSync(filename, 'utf8'), { ...options, filename, swcrc: false });
    module._compile(code, filename);
  };
  process.setSourceMapsEnabled(true);
}

module.exports = { aliases, swcOptions, swcBuildConfig, jestModuleNameMapper, resolveAlias, register };
