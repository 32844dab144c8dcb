/**
 * Writes the widget's browser bundle next to the compiled app, for images that
 * ship without esbuild and sources: `node dist/apps/chat-service/src/widget/bundle-cli.js`
 * (run after scripts/build.sh, before pruning dev dependencies).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PREBUILT_BUNDLE, bundleWidget } from './widget-bundle';

bundleWidget().then(
  (js) => {
    mkdirSync(dirname(PREBUILT_BUNDLE), { recursive: true });
    writeFileSync(PREBUILT_BUNDLE, js);
    process.stdout.write(`chat widget: ${PREBUILT_BUNDLE} (${js.length} bytes)\n`);
  },
  (err: Error) => {
    process.stderr.write(`chat widget bundle failed: ${err.message}\n`);
    process.exit(1);
  },
);
