import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigSchema as ChatService } from '../../apps/chat-service/src/config';
import { ConfigSchema as EmailService } from '../../apps/email-service/src/config';
import { ConfigSchema as SlaWorker } from '../../apps/sla-worker/src/config';
import { ConfigSchema as SocialService } from '../../apps/social-service/src/config';
import { ConfigSchema as TicketService } from '../../apps/ticket-service/src/config';
import { ConfigSchema as VoiceService } from '../../apps/voice-service/src/config';

/**
 * docker-compose.yml and the Dockerfile are not run here (no Docker engine): this keeps them
 * consistent with the services' config schemas, with what `npm start` writes into .env, and keeps
 * demo mode's stand-ins out of the production image. Every check collects problems naming the
 * service and variable, so a failure reads as what to fix.
 */
const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const SCHEMAS: Record<string, z.ZodObject> = {
  'ticket-service': TicketService,
  'sla-worker': SlaWorker,
  'email-service': EmailService,
  'social-service': SocialService,
  'voice-service': VoiceService,
  'chat-service': ChatService,
};
const APPS = Object.keys(SCHEMAS);
/** Read by something other than a config schema: the image's entry point (Dockerfile CMD) and node itself. */
const NOT_SCHEMA = new Set(['SERVICE', 'NODE_OPTIONS']);
/** The Dockerfile stage of the production image, and compose's demo-mode service (and profile). */
const PRODUCTION = 'runtime';
const DEMO = 'demo';
/** The V8 flags npm start gives each service (scripts/node-options.cjs), which compose must give too. */
const { nodeOptionsFor } = createRequire(__filename)('../../scripts/node-options.cjs') as {
  nodeOptionsFor(service: string): string[];
};

// ---- docker-compose.yml

type Env = Record<string, string>;
interface Service {
  build?: string | { context?: string; target?: string };
  image?: string;
  env_file?: string | (string | { path: string })[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  expose?: (string | number)[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  healthcheck?: { test?: string | string[] };
  profiles?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;

/** The .env `npm start` writes on a first run: its generator in scripts/start.sh, run as start.sh runs it. */
function generatedDotEnv(): Env {
  const m = /node -e '([\s\S]*?)' > \.env/.exec(read('scripts/start.sh'));
  if (!m) throw new Error("scripts/start.sh: no `node -e '…' > .env` generator found (did its .env writing change?)");
  return parseDotEnv(execFileSync(process.execPath, ['-e', m[1]], { encoding: 'utf8' }));
}
function parseDotEnv(text: string): Env {
  const env: Env = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}
const dotEnv = generatedDotEnv();

/** `${VAR:-default}` / `${VAR-default}` / `${VAR}` as compose interpolates them: from .env (no shell variables). */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}/g, (_all, name: string, colon: string, fallback = '') => {
      const v = dotEnv[name];
      if (v === undefined || (colon && v === '')) return fallback;
      return v;
    })
    .replace(/\$\$/g, '$');
}

/** A service's `environment` as written (uninterpolated), list or map form. */
function rawEnv(svc: string): Env {
  const e = services[svc]?.environment ?? {};
  if (Array.isArray(e))
    return Object.fromEntries(e.map((kv) => [kv.split('=')[0], kv.includes('=') ? kv.slice(kv.indexOf('=') + 1) : '']));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}
const composeEnv = (svc: string): Env =>
  Object.fromEntries(Object.entries(rawEnv(svc)).map(([k, v]) => [k, interpolate(v)]));

function usesDotEnv(svc: string): boolean {
  const f = services[svc]?.env_file;
  const files = f === undefined ? [] : Array.isArray(f) ? f : [f];
  return files.some((x) => (typeof x === 'string' ? x : x.path).replace(/^\.\//, '') === '.env');
}

const buildTarget = (svc: string) => {
  const b = services[svc]?.build;
  return typeof b === 'object' ? b.target : undefined;
};

/** `HOST:CONTAINER` pairs (short and long syntax). */
function portPairs(svc: string): [string, string][] {
  return (services[svc]?.ports ?? []).map((p) => {
    if (typeof p === 'object') return [String(p.published ?? ''), String(p.target)];
    const parts = String(p).split(':');
    const container = parts.pop()!.replace(/\/(tcp|udp)$/, '');
    return [parts.pop() ?? '', container];
  });
}

function volumeTargets(svc: string): { source: string; target: string }[] {
  return (services[svc]?.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source ?? '', target: v.target };
    const [source, target] = v.split(':');
    return { source, target };
  });
}

// ---- Dockerfile

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  from: string;
  body: Instruction[];
}

function dockerfileStages(): Stage[] {
  const stages: Stage[] = [];
  const lines = read('Dockerfile').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i];
    while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, ' ') + lines[++i];
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(text);
    if (!m || text.trim().startsWith('#')) continue;
    const op = m[1].toUpperCase();
    const args = m[2].trim();
    if (op === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)!;
      stages.push({ name: (f[2] ?? String(stages.length)).toLowerCase(), from: f[1].toLowerCase(), body: [] });
    } else stages.at(-1)?.body.push({ op, args, line: start + 1 });
  }
  return stages;
}
const stages = dockerfileStages();
const stage = (name: string) => stages.find((s) => s.name === name);

/** The stage and every stage it is built FROM or COPYs --from, transitively. */
function closure(name: string, seen = new Set<string>()): Stage[] {
  const s = stage(name);
  if (!s || seen.has(name)) return [];
  seen.add(name);
  const deps = [s.from, ...s.body.flatMap((i) => (i.op === 'COPY' ? [/--from=(\S+)/.exec(i.args)?.[1] ?? ''] : []))];
  return [s, ...deps.filter(Boolean).flatMap((d) => closure(d.toLowerCase(), seen))];
}

/** COPY sources (context paths; JSON or shell form, flags dropped). */
function copySources(i: Instruction): string[] {
  const words = i.args.startsWith('[')
    ? (JSON.parse(i.args) as string[])
    : i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
  return words.slice(0, -1).map((w) => w.replace(/^\.\//, '').replace(/\/$/, ''));
}

function stageEnv(s: Stage | undefined): Env {
  const env: Env = {};
  for (const i of s?.body ?? []) {
    if (i.op !== 'ENV') continue;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(i.args))
      for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
        env[m[1]] = m[2].replace(/^"|"$/g, '');
    else {
      const [k, ...v] = i.args.split(/\s+/);
      env[k] = v.join(' ');
    }
  }
  return env;
}

// ---- what the services see

const portVar = (svc: string) => `${svc.toUpperCase().replace(/-/g, '_')}_PORT`;
const schemaDefault = (svc: string, key: string): unknown => SCHEMAS[svc].shape[key]?.safeParse(undefined).data;
const isRequired = (schema: z.ZodObject, key: string) => !schema.shape[key].safeParse(undefined).success;

/** The environment a service's process starts with: image ENV, then .env (env_file), then compose `environment`. */
function effectiveEnv(svc: string): Env {
  const layered: Env = {
    ...stageEnv(stage(buildTarget(svc) ?? '')),
    ...(usesDotEnv(svc) ? dotEnv : {}),
    ...composeEnv(svc),
  };
  // As loadConfig reads it: an empty value is unset.
  return Object.fromEntries(Object.entries(layered).filter(([, v]) => v !== ''));
}

/** A variable's value as the service's config has it (what compose gives, else the default); '(invalid)' if it fails. */
function configValue(svc: string, key: string): string {
  const parsed = SCHEMAS[svc].shape[key]?.safeParse(effectiveEnv(svc)[key]);
  return parsed?.success ? String(parsed.data) : '(invalid)';
}

function check(fn: (problems: string[]) => void, service?: string): void {
  const problems: string[] = [];
  if (service && !services[service]) problems.push(`docker-compose.yml has no ${service} service`);
  else fn(problems);
  expect(problems).toEqual([]);
}

describe('docker-compose.yml and the Dockerfile', () => {
  it('has all six services, each named after its app', () => {
    check((problems) => {
      for (const svc of APPS) {
        if (!services[svc]) problems.push(`docker-compose.yml has no ${svc} service`);
        if (!existsSync(join(ROOT, 'apps', svc, 'src', 'main.ts')))
          problems.push(`${svc}: apps/${svc}/src/main.ts (what the image's CMD starts for SERVICE=${svc}) is missing`);
      }
    });
  });

  describe.each(APPS)('%s', (svc) => {
    const env = () => composeEnv(svc);
    const port = portVar(svc);

    it('runs its own entry point on its port, published and health-checked there, on 0.0.0.0', () => {
      check((problems) => {
        const e = env();
        if (e.SERVICE !== svc) problems.push(`${svc}: SERVICE is ${JSON.stringify(e.SERVICE)}, must be ${svc}`);
        const fallback = schemaDefault(svc, port);
        if (fallback === undefined) problems.push(`${svc}: apps/${svc}/src/config.ts has no ${port} default`);
        if (e[port] === undefined) problems.push(`${svc}: ${port} is not set in its compose environment`);
        else if (Number(e[port]) !== fallback)
          problems.push(`${svc}: ${port} is ${e[port]} in compose but ${String(fallback)} in its schema default`);
        const want = String(e[port] ?? fallback);
        const pairs = portPairs(svc);
        if (!pairs.length) problems.push(`${svc}: publishes no port (${port}=${want})`);
        for (const [host, container] of pairs)
          if (host !== want || container !== want)
            problems.push(`${svc}: ports entry ${host}:${container} does not match ${port}=${want}`);
        const test = services[svc].healthcheck?.test;
        const url = (Array.isArray(test) ? test : [test ?? '']).join(' ').match(/https?:\/\/[^\s'"]+/)?.[0];
        if (!url) problems.push(`${svc}: healthcheck names no URL`);
        else {
          const u = new URL(url);
          if (u.port !== want) problems.push(`${svc}: healthcheck ${url} is not on ${port}=${want}`);
          if (u.pathname !== '/health') problems.push(`${svc}: healthcheck ${url} is not /health`);
        }
        if (e.BIND_HOST !== '0.0.0.0')
          problems.push(`${svc}: BIND_HOST is ${JSON.stringify(e.BIND_HOST)}: inside a container it must be 0.0.0.0`);
        const flags = nodeOptionsFor(svc).join(' ');
        if ((e.NODE_OPTIONS ?? '') !== flags)
          problems.push(
            `${svc}: NODE_OPTIONS is ${JSON.stringify(e.NODE_OPTIONS ?? '')}, scripts/node-options.cjs gives npm start ${JSON.stringify(flags)}`,
          );
      }, svc);
    });

    it('gets every variable its schema requires, from compose or the .env npm start writes', () => {
      check((problems) => {
        if (!usesDotEnv(svc)) problems.push(`${svc}: has no env_file: .env (where npm start puts the secrets)`);
        const effective = effectiveEnv(svc);
        const schema = SCHEMAS[svc];
        for (const key of Object.keys(schema.shape))
          if (isRequired(schema, key) && effective[key] === undefined)
            problems.push(
              `${svc}: ${key} is required by apps/${svc}/src/config.ts but neither its compose environment nor the .env scripts/start.sh writes sets it`,
            );
        const parsed = schema.safeParse(effective);
        if (!parsed.success)
          for (const issue of parsed.error.issues)
            problems.push(`${svc}: ${issue.path.join('.') || '(environment)'}: ${issue.message}`);
      }, svc);
    });

    it('names only variables its schema knows', () => {
      check((problems) => {
        const own = SCHEMAS[svc].shape;
        for (const key of Object.keys(rawEnv(svc))) {
          if (key in own || NOT_SCHEMA.has(key)) continue;
          const elsewhere = APPS.filter((a) => key in SCHEMAS[a].shape);
          problems.push(
            `${svc}: ${key} is not a variable of apps/${svc}/src/config.ts` +
              (elsewhere.length ? ` (${elsewhere.join(', ')} reads it)` : ' nor of any service (a typo?)'),
          );
        }
      }, svc);
    });

    it('reaches ticket-service by its compose name when it calls it', () => {
      check((problems) => {
        if (!('TICKET_SERVICE_URL' in SCHEMAS[svc].shape)) return;
        const want = `http://ticket-service:${composeEnv('ticket-service').TICKET_SERVICE_PORT ?? schemaDefault('ticket-service', 'TICKET_SERVICE_PORT')}`;
        const got = env().TICKET_SERVICE_URL;
        if (got?.replace(/\/+$/, '') !== want)
          problems.push(
            `${svc}: TICKET_SERVICE_URL is ${JSON.stringify(got)}, must be ${want} (its default is loopback)`,
          );
      }, svc);
    });

    it('keeps blobs on the shared volume at BLOB_DIR, built from the production stage', () => {
      check((problems) => {
        const dir = env().BLOB_DIR;
        if (!dir?.startsWith('/'))
          problems.push(`${svc}: BLOB_DIR is ${JSON.stringify(dir)}, must be an absolute path`);
        const mount = volumeTargets(svc).find((v) => v.source === 'blobs');
        if (!mount) problems.push(`${svc}: does not mount the blobs volume`);
        else if (mount.target !== dir)
          problems.push(`${svc}: blobs volume is mounted at ${mount.target}, BLOB_DIR is ${dir}`);
        if (buildTarget(svc) !== PRODUCTION)
          problems.push(
            `${svc}: builds target ${JSON.stringify(buildTarget(svc))}, not the production stage ${PRODUCTION}`,
          );
        if (services[svc].profiles?.length)
          problems.push(`${svc}: is under profiles ${services[svc].profiles!.join(', ')}`);
      }, svc);
    });
  });

  it('builds the production stage explicitly, as the last (default) stage, blob dir owned by node', () => {
    check((problems) => {
      const prod = stage(PRODUCTION);
      if (!prod) return void problems.push(`Dockerfile: no stage ${PRODUCTION} (the app services' build target)`);
      if (stages.at(-1)?.name !== PRODUCTION)
        problems.push(
          `Dockerfile: the last stage is ${stages.at(-1)?.name}, so a plain docker build is not ${PRODUCTION}`,
        );
      for (const [name, s] of Object.entries(services)) {
        if (!s.build || name === DEMO) continue;
        if (buildTarget(name) !== PRODUCTION)
          problems.push(`${name}: build has target ${JSON.stringify(buildTarget(name))}, must name ${PRODUCTION}`);
      }
      const run = prod.body.filter((i) => i.op === 'RUN').map((i) => i.args);
      const dirs = new Set(APPS.flatMap((svc) => composeEnv(svc).BLOB_DIR ?? []));
      for (const dir of dirs) {
        if (!run.some((r) => new RegExp(`mkdir\\s+(-\\S+\\s+)*${dir}(\\s|$)`).test(r)))
          problems.push(`Dockerfile ${PRODUCTION}: does not mkdir BLOB_DIR ${dir}`);
        if (!run.some((r) => new RegExp(`chown\\s+(-\\S+\\s+)*node(:node)?\\s+(\\S+\\s+)*${dir}(\\s|$)`).test(r)))
          problems.push(`Dockerfile ${PRODUCTION}: does not chown BLOB_DIR ${dir} to node`);
      }
      if (prod.body.filter((i) => i.op === 'USER').at(-1)?.args !== 'node')
        problems.push(`Dockerfile ${PRODUCTION}: does not run as USER node`);
      if (!('blobs' in (compose.volumes ?? {}))) problems.push('docker-compose.yml: no top-level blobs volume');
    });
  });

  it('keeps demo/ out of the production stage and everything it is built from', () => {
    check((problems) => {
      const from = closure(PRODUCTION);
      if (!from.length) return void problems.push(`Dockerfile: no stage ${PRODUCTION}`);
      for (const s of from) {
        if (s.name === DEMO || s.name === buildTarget(DEMO))
          problems.push(`Dockerfile ${PRODUCTION}: is built from the demo stage ${s.name}`);
        for (const i of s.body.filter((x) => x.op === 'COPY' || x.op === 'ADD'))
          for (const src of /--from=/.test(i.args) ? [] : copySources(i))
            if (src === '.' || src === '*' || src === 'demo' || src.startsWith('demo/'))
              problems.push(
                `Dockerfile line ${i.line} (stage ${s.name}, part of ${PRODUCTION}): ${i.op} ${i.args} brings in demo/`,
              );
      }
    });
  });

  describe('the demo profile', () => {
    const demo = () => services[DEMO];
    const env = () => composeEnv(DEMO);
    /** Variable names demo/ reads: env.X, env['X'], process.env.X, or 'X' passed to a helper such as port('X'). */
    const demoNames = () => {
      const names = new Set<string>();
      const walk = (dir: string) => {
        for (const f of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
          const path = `${dir}/${f.name}`;
          if (f.isDirectory()) walk(path);
          else if (f.name.endsWith('.ts') && !f.name.endsWith('.spec.ts'))
            for (const m of read(path).matchAll(/(?:\benv\.|\benv\[\s*['"]|['"])([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]);
        }
      };
      walk('demo');
      return names;
    };

    it('runs the stand-ins only under the demo profile, from a stage of their own', () => {
      check((problems) => {
        if (!demo()) return void problems.push('docker-compose.yml has no demo service');
        if (JSON.stringify(demo().profiles) !== JSON.stringify([DEMO]))
          problems.push(`demo: profiles is ${JSON.stringify(demo().profiles)}, must be [demo] only`);
        for (const [name, s] of Object.entries(services))
          if (name !== DEMO && s.profiles?.includes(DEMO)) problems.push(`${name}: is under the demo profile`);
        const target = buildTarget(DEMO);
        if (!target) problems.push('demo: build names no target (it would build the production stage)');
        else if (target === PRODUCTION) problems.push(`demo: builds the production stage ${PRODUCTION}`);
        const s = target ? stage(target) : undefined;
        if (target && !s) problems.push(`demo: build target ${target} is not a Dockerfile stage`);
        if (demo().image && demo().image === services['ticket-service'].image)
          problems.push(
            `demo: image ${demo().image} is the production services' tag: one build would replace the other`,
          );
        if (s) {
          const body = s.body.map((i) => `${i.op} ${i.args}`).join('\n');
          if (!/apt-get install[^\n]*\bdovecot-imapd\b/.test(body))
            problems.push(`Dockerfile ${target}: does not install dovecot-imapd (demo/mail/dovecot.ts runs dovecot)`);
          const copied = s.body.filter((i) => i.op === 'COPY' && !/--from=/.test(i.args)).flatMap(copySources);
          for (const need of ['demo', 'scripts/run-ts.cjs', 'libs'])
            if (!copied.some((c) => c === need || (need.startsWith(`${c}/`) && c !== '')))
              problems.push(`Dockerfile ${target}: does not COPY ${need}, which demo/run.ts needs`);
          if (!/CMD[^\n]*scripts\/run-ts\.cjs[^\n]*demo\/run\.ts/.test(body))
            problems.push(`Dockerfile ${target}: CMD does not run demo/run.ts through scripts/run-ts.cjs`);
        }
      });
    });

    it('is configured where the services look for it, and they where it looks for them', () => {
      check((problems) => {
        if (!demo()) return void problems.push('docker-compose.yml has no demo service');
        const e = env();
        const published = new Set(
          portPairs(DEMO)
            .filter(([h, c]) => h === c)
            .map(([, c]) => c),
        );
        const exposed = new Set([...published, ...(demo().expose ?? []).map(String)]);
        if (e.BIND_HOST !== '0.0.0.0')
          problems.push(`demo: BIND_HOST is ${JSON.stringify(e.BIND_HOST)}, must be 0.0.0.0`);
        if (!e.DEMO_KEY)
          problems.push(
            'demo: DEMO_KEY does not come from .env (npm start writes it; the stand-ins derive every secret from it)',
          );
        const social = `http://social-service:${configValue('social-service', 'SOCIAL_SERVICE_PORT')}`;
        if (e.SOCIAL_SERVICE_URL?.replace(/\/+$/, '') !== social)
          problems.push(`demo: SOCIAL_SERVICE_URL is ${JSON.stringify(e.SOCIAL_SERVICE_URL)}, must be ${social}`);
        const providers = configValue('ticket-service', 'DEMO_PROVIDERS_URL');
        if (e.DEMO_PROVIDERS_URL !== providers)
          problems.push(
            `demo: DEMO_PROVIDERS_URL is ${JSON.stringify(e.DEMO_PROVIDERS_URL)}, ticket-service's is ${providers}`,
          );
        const p = URL.canParse(providers) ? new URL(providers) : undefined;
        if (p?.hostname !== DEMO)
          problems.push(`ticket-service: DEMO_PROVIDERS_URL ${providers} is not on host ${DEMO}`);
        if (p && !published.has(p.port || '80'))
          problems.push(`demo: DEMO_PROVIDERS_URL's port ${p.port} is not published (the fakes' page)`);
        for (const key of ['DEMO_IMAP_PORT', 'DEMO_SMTP_PORT']) {
          const want = configValue('ticket-service', key);
          if (e[key] !== want) problems.push(`demo: ${key} is ${JSON.stringify(e[key])}, ticket-service's is ${want}`);
          if (!exposed.has(want)) problems.push(`demo: ${key} ${want} is neither exposed nor published`);
        }
        if (!published.has(e.DEMO_MAIL_VIEW_PORT ?? ''))
          problems.push(
            `demo: DEMO_MAIL_VIEW_PORT ${JSON.stringify(e.DEMO_MAIL_VIEW_PORT)} is not published (the outbox page)`,
          );
        const graph = configValue('social-service', 'META_GRAPH_VERSION');
        if ((e.META_GRAPH_VERSION ?? 'v21.0') !== graph)
          problems.push(`demo: META_GRAPH_VERSION is ${e.META_GRAPH_VERSION}, social-service's is ${graph}`);
        if (!e.DEMO_DIR || !volumeTargets(DEMO).some((v) => v.target === e.DEMO_DIR))
          problems.push(
            `demo: DEMO_DIR ${JSON.stringify(e.DEMO_DIR)} is not a mounted volume (the demo mailbox and outbox)`,
          );
      });
    });

    it('names only variables demo/ reads', () => {
      check((problems) => {
        if (!demo()) return void problems.push('docker-compose.yml has no demo service');
        const names = demoNames();
        for (const key of Object.keys(rawEnv(DEMO)))
          if (!names.has(key)) problems.push(`demo: ${key} is read nowhere in demo/ (a typo?)`);
      });
    });
  });
});
