/**
 * Prints the configuration table of README.md from the services' own zod
 * schemas, so the documentation cannot drift from what boot validates.
 * Run: node scripts/run-ts.cjs scripts/config-table.ts
 */
import { z } from 'zod';

const APPS = ['ticket-service', 'sla-worker', 'email-service', 'social-service', 'voice-service', 'chat-service'];

function describe(schema: z.ZodType): { required: boolean; def: string } {
  let s: any = schema;
  let def: unknown;
  let optional = false;
  for (let i = 0; i < 10 && s; i++) {
    const d = s._zod?.def ?? s.def;
    if (!d) break;
    if (d.type === 'default') {
      def = typeof d.defaultValue === 'function' ? d.defaultValue() : d.defaultValue;
      s = d.innerType;
    } else if (d.type === 'optional') {
      optional = true;
      s = d.innerType;
    } else if (d.type === 'pipe') s = d.in;
    else break;
  }
  if (def !== undefined) return { required: false, def: `\`${String(def)}\`` };
  return { required: !optional, def: optional ? '(unset)' : '**required**' };
}

async function main() {
  const rows = new Map<string, { services: string[]; def: string }>();
  for (const app of APPS) {
    const { ConfigSchema } = await import(`../apps/${app}/src/config`);
    for (const [name, schema] of Object.entries((ConfigSchema as z.ZodObject).shape)) {
      const row = rows.get(name) ?? { services: [], def: describe(schema as z.ZodType).def };
      row.services.push(app);
      rows.set(name, row);
    }
  }
  console.log('| Variable | Default | Used by |');
  console.log('|---|---|---|');
  for (const [name, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
    const used = row.services.length === APPS.length ? 'all services' : row.services.join(', ');
    console.log(`| \`${name}\` | ${row.def} | ${used} |`);
  }
}

void main();
