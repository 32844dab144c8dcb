import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Where `npm run build` leaves the prebuilt browser bundle (see bundle-cli.ts). */
export const PREBUILT_BUNDLE = resolve(__dirname, '..', '..', 'widget', 'widget.bundle.js');

/** The widget's TypeScript source in a checkout (dev, tests; dist/ runs from the same checkout). */
function widgetSource(): string {
  const candidates = [
    resolve(__dirname, '..', '..', 'widget', 'widget.ts'),
    resolve(__dirname, '..', '..', '..', '..', '..', 'apps', 'chat-service', 'widget', 'widget.ts'),
    join(process.cwd(), 'apps', 'chat-service', 'widget', 'widget.ts'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`chat widget source not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Bundles the widget (socket.io-client included) with esbuild; esbuild is a build-time dependency. */
export async function bundleWidget(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [widgetSource()],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['es2019'],
    minify: true,
    legalComments: 'none',
  });
  return result.outputFiles[0].text;
}

let bundle: Promise<string> | undefined;

/**
 * The widget script, once per process: the prebuilt bundle when the build made
 * one (production images have no esbuild or sources), else bundled on the fly.
 */
export function widgetBundle(): Promise<string> {
  bundle ??= (existsSync(PREBUILT_BUNDLE) ? readFile(PREBUILT_BUNDLE, 'utf8') : bundleWidget()).catch((err) => {
    bundle = undefined;
    throw err;
  });
  return bundle;
}
