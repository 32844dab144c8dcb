import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChannelServiceConfig, RETIRED_VARIABLES } from '@oq/platform';
import { z } from 'zod';
import { ConfigSchema as ChatService } from '../../apps/chat-service/src/config';
import { ConfigSchema as EmailService } from '../../apps/email-service/src/config';
import { ConfigSchema as SlaWorker } from '../../apps/sla-worker/src/config';
import { ConfigSchema as SocialService } from '../../apps/social-service/src/config';
import { ConfigSchema as TicketService } from '../../apps/ticket-service/src/config';
import { ConfigSchema as VoiceService } from '../../apps/voice-service/src/config';
import {
  configRows,
  findTable,
  FIX_COMMAND,
  parseTable,
  README,
  renderTable,
  Row,
  services,
} from '../../scripts/config-table';

/**
 * README.md's configuration table is generated (scripts/config-table.ts) from every service's
 * config schema; this fails when the committed table is not what the generator prints now,
 * naming each variable that is missing, extra or different, and the command that fixes it.
 */
const ROOT = join(__dirname, '..', '..');
const SCHEMAS: Record<string, z.ZodObject> = {
  'chat-service': ChatService,
  'email-service': EmailService,
  'sla-worker': SlaWorker,
  'social-service': SocialService,
  'ticket-service': TicketService,
  'voice-service': VoiceService,
};

describe('README configuration table', () => {
  it('covers every service in apps/', () => {
    expect(services()).toEqual(Object.keys(SCHEMAS).sort());
    const names = new Set(configRows().map((r) => r.name));
    for (const [service, schema] of Object.entries(SCHEMAS))
      for (const name of Object.keys(schema.shape))
        expect({ service, name, listed: names.has(name) }).toMatchObject({ listed: true });
  });

  it('is what the schemas generate', () => {
    const generated = configRows();
    const table = findTable(readFileSync(join(ROOT, README), 'utf8'));
    const documented = parseTable(table.lines);
    const want = new Map(generated.map((r) => [r.name, r]));
    const problems: string[] = [];
    const missing = generated.filter((r) => !documented.has(r.name)).map((r) => r.name);
    const extra = [...documented.keys()].filter((name) => !want.has(name));
    if (missing.length) problems.push(`missing from README.md: ${missing.join(', ')}`);
    if (extra.length) problems.push(`in README.md but no schema reads it: ${extra.join(', ')}`);
    const header = renderTable([]).split('\n')[0];
    if (table.lines[0] !== header) problems.push(`the header is ${table.lines[0]}, the generator's ${header}`);
    const columns: [keyof Row, string][] = [
      ['def', 'default'],
      ['usedBy', 'used by'],
      ['description', 'description'],
    ];
    const short = (s: string) => (s ? JSON.stringify(s.length > 70 ? `${s.slice(0, 69)}…` : s) : '(empty)');
    for (const [name, row] of want) {
      const doc = documented.get(name);
      if (!doc) continue;
      for (const [key, label] of columns)
        if (doc[key] !== row[key] && (key !== 'description' || table.lines[0] === header))
          problems.push(`${name}: ${label} is ${short(doc[key])} in README.md, ${short(row[key])} in the schema`);
    }
    if (!problems.length && table.lines.join('\n') !== renderTable(generated))
      problems.push('the rows are right but their order or formatting is not the generated one');
    if (problems.length)
      throw new Error(
        `README.md's configuration table is out of date:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
          `Fix: ${FIX_COMMAND} (rewrites the table from the schemas; describe a variable by its doc comment)`,
      );
  });

  it('describes the channel services’ shared variables once, and no retired variable', () => {
    const rows = new Map(configRows().map((r) => [r.name, r]));
    for (const name of Object.keys(ChannelServiceConfig)) {
      expect(rows.get(name)?.usedBy).toBe('chat-service, email-service, social-service, voice-service');
      for (const service of ['chat-service', 'email-service', 'social-service', 'voice-service'])
        expect(SCHEMAS[service].shape[name as keyof typeof ChannelServiceConfig]).toBe(
          ChannelServiceConfig[name as keyof typeof ChannelServiceConfig],
        );
    }
    for (const v of RETIRED_VARIABLES) {
      expect(rows.has(v.name)).toBe(false);
      if (v.replacedBy) expect(rows.has(v.replacedBy)).toBe(true);
    }
  });
});
