/**
 * npm run bench:first-run — the first five minutes (#28), on a copy of the repository as a
 * clone has it (test/support/first-run.ts): `npm start` in demo mode with its own database,
 * queue prefix and ports, the printed login, `npm run demo:traffic`, a reply on every channel.
 *
 *   start_s                 npm start → its summary (create .env and the database, migrate, build, demo
 *                           stand-ins, six services healthy); phases: migrated_s, built_s, services_s
 *   services_vs_load_floor  services_s over the load floor measured in the same run: the six
 *                           compiled apps' module graphs required in six parallel processes, so
 *                           what a start could not go below on this machine before any connection
 *   log_lines_to_summary    lines printed before the summary (npm's banner included)
 *   channels_ok/total       channels with a ticket in the queue after demo:traffic
 *   replies_delivered       replies that reached delivered or read (the channels that report it);
 *   replies_sent_final      replies whose channel reports no delivery (Telegram Bot API, SMTP) that
 *                           reached sent; replies_total = every ticket channel (the call answered on WhatsApp)
 *   openapi_errors          swagger-parser validation errors over every service's /docs-json
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FirstRun, exerciseChannels, fetchOpenApi, CHANNELS } from '../../test/support/first-run';
import { machine, printResult } from '../support/stack';

const APPS = ['ticket-service', 'sla-worker', 'email-service', 'social-service', 'voice-service', 'chat-service'];

/** Six processes each requiring one compiled app module (no listen, no connection): best of three. */
async function loadFloor(dir: string): Promise<number> {
  const once = async () => {
    const t0 = Date.now();
    await Promise.all(
      APPS.map(
        (app) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              ['-e', `require(${JSON.stringify(join(dir, 'dist/apps', app, 'src/app.module.js'))})`],
              { cwd: dir, stdio: 'ignore' },
            );
            child.once('exit', (code) =>
              code === 0 ? resolve() : reject(new Error(`${app} failed to load: ${code}`)),
            );
          }),
      ),
    );
    return (Date.now() - t0) / 1000;
  };
  const runs = [await once(), await once(), await once()];
  return Math.min(...runs);
}

async function main() {
  console.log(`bench:first-run on ${machine()}`);
  const run = new FirstRun();
  try {
    await run.prepare();
    const started = await run.start();
    console.log(started.before + started.summary);
    const login = run.loginFrom(started.summary);
    const traffic = await run.runTraffic();
    console.log(traffic);
    const result = await exerciseChannels(run, login);
    for (const r of result.replies)
      console.log(`reply on ${r.ticketChannel} ticket via ${r.replyChannel}: ${r.status}`);
    const SwaggerParser = (await import('@apidevtools/swagger-parser')).default;
    let openapiErrors = 0;
    for (const doc of await fetchOpenApi(run)) {
      try {
        await SwaggerParser.validate(structuredClone(doc.document) as never);
      } catch (err) {
        openapiErrors += (err as { details?: unknown[] }).details?.length || 1;
        console.log(`openapi ${doc.service}: ${(err as Error).message.slice(0, 2000)}`);
      }
    }
    const floor = await loadFloor(run.dir);
    const servicesS = started.seconds - (run.marks.servicesStarting ?? started.seconds);
    const delivered = result.replies.filter((r) => r.final && ['delivered', 'read'].includes(r.status)).length;
    const sentFinal = result.replies.filter((r) => r.final && r.status === 'sent').length;
    printResult({
      start_s: started.seconds,
      migrated_s: run.marks.migrated ?? -1,
      built_s: run.marks.built ?? -1,
      services_s: servicesS,
      load_floor_s: floor,
      services_vs_load_floor: servicesS / floor,
      log_lines_to_summary: started.linesBefore,
      channels_ok: result.channelsOk.length,
      channels_total: CHANNELS.length,
      replies_delivered: delivered,
      replies_sent_final: sentFinal,
      replies_total: result.replies.length,
      openapi_errors: openapiErrors,
    });
  } finally {
    await run.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
