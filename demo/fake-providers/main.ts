/**
 * The demo's fake Meta Graph API and Telegram Bot API as a process:
 *
 *   DEMO_KEY=… node scripts/run-ts.cjs demo/fake-providers/main.ts
 *
 * Environment: DEMO_KEY (required; `npm start` writes it into .env), FAKE_PROVIDERS_PORT (3009),
 * BIND_HOST (127.0.0.1), SOCIAL_SERVICE_URL (http://127.0.0.1:3003, where status webhooks go),
 * META_GRAPH_VERSION (v21.0). Logs one line per send; open http://127.0.0.1:3009/ to see them.
 */
import { startFakeProviders } from './server';

function fail(message: string): never {
  process.stderr.write(`fake-providers: ${message}\n`);
  process.exit(1);
}

async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const demoKey = env.DEMO_KEY;
  if (!demoKey)
    fail(
      'DEMO_KEY is required but not set. It is the key every demo inbox secret derives from: `npm start` writes it ' +
        'into .env on first run (demo mode, SEED_DEMO=true); start the fake with the same value.',
    );
  const portText = env.FAKE_PROVIDERS_PORT || '3009';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) fail(`FAKE_PROVIDERS_PORT must be a port number, not ${portText}`);
  const host = env.BIND_HOST || '127.0.0.1';
  const socialServiceUrl = env.SOCIAL_SERVICE_URL || 'http://127.0.0.1:3003';
  if (!/^https?:\/\/[^/]/.test(socialServiceUrl))
    fail(`SOCIAL_SERVICE_URL must be an http(s) URL, not ${socialServiceUrl}`);
  const graphVersion = env.META_GRAPH_VERSION || 'v21.0';
  if (!/^v\d+\.\d+$/.test(graphVersion)) fail(`META_GRAPH_VERSION must look like v21.0, not ${graphVersion}`);

  const fake = await startFakeProviders({
    port,
    host,
    demoKey,
    socialServiceUrl,
    graphVersion,
    log: (line) => process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`),
  }).catch((err: Error & { code?: string }) =>
    fail(
      err.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is in use: stop what listens there or set FAKE_PROVIDERS_PORT`
        : err.message,
    ),
  );
  process.stdout.write(
    `fake providers (Meta Graph API ${graphVersion}, Telegram Bot API) listening on ${fake.url}; ` +
      `status webhooks go to ${socialServiceUrl}; sent messages: ${fake.url}/\n`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`fake providers: ${signal}, closing\n`);
    setTimeout(() => fail('did not close within 5 s'), 5000).unref();
    fake.close().then(
      () => process.exit(0),
      (err: Error) => fail(`close failed: ${err.message}`),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.env).catch((err: Error) => fail(err.message));
