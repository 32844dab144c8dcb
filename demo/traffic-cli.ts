import { loadDotEnv } from './dotenv';
import { hostOf, sendDemoTraffic, url } from './traffic';

/** `npm run demo:traffic [-- --stay]`: see demo/traffic.ts. */
const env = process.env;
loadDotEnv();
const stay = process.argv.includes('--stay');
sendDemoTraffic({ stay, log: (line) => process.stdout.write(`${line}\n`) })
  .then(({ results, chat }) => {
    const failed = results.filter((r) => !r.ok);
    const ticket = url('TICKET_SERVICE_PORT', 3000);
    process.stdout.write(
      `\ndemo:traffic: ${results.length - failed.length}/${results.length} messages accepted.\n` +
        `  The queue:        GET ${ticket}/v1/queue (log in: POST ${ticket}/v1/auth/login), or ${ticket}/docs\n` +
        `  Replies by mail:  http://${hostOf()}:${env.DEMO_MAIL_VIEW_PORT ?? 3008}/ (the demo outbox)\n` +
        `  Replies by DM:    ${(env.DEMO_PROVIDERS_URL ?? 'http://127.0.0.1:3009').replace(/\/+$/, '')}/ (the fake providers, with delivery and read receipts)\n` +
        (chat ? '  The chat customer stays online until Ctrl-C (--stay).\n' : ''),
    );
    if (failed.length) process.exitCode = 1;
    if (chat) {
      process.on('SIGINT', () => {
        chat!.disconnect();
        process.exit();
      });
    }
  })
  .catch((err) => {
    process.stderr.write(`demo:traffic: ${(err as Error).message}\n`);
    process.exit(1);
  });
