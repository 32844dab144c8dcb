/**
 * README.md's configuration table, generated from the config schemas so the documentation cannot
 * drift from what boot validates; test/foundation/readme-config.spec.ts fails when it has.
 *
 *   node scripts/run-ts.cjs scripts/config-table.ts           prints the table
 *   node scripts/run-ts.cjs scripts/config-table.ts --write   replaces the table in README.md
 *
 * The schemas are every apps/<service>/src/config.ts's ConfigSchema (each extends the platform's
 * BaseConfigSchema). A variable's description is the first paragraph of its doc comment where it
 * is declared: the service's config.ts, or libs/platform/src/config/config.ts for the platform's
 * base and ChannelServiceConfig variables. An undocumented variable is an error.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BaseConfigSchema, ChannelServiceConfig } from '@oq/platform';
import * as ts from 'typescript';
import { z } from 'zod';

const ROOT = resolve(__dirname, '..');
const PLATFORM_FILE = 'libs/platform/src/config/config.ts';
export const README = 'README.md';
export const FIX_COMMAND = 'node scripts/run-ts.cjs scripts/config-table.ts --write';
export const HEADER = ['Variable', 'Default', 'Used by', 'Description'];

/** One variable as one service declares it. */
interface Declaration {
  service: string;
  def: string;
  description: string;
}
export interface Row {
  name: string;
  def: string;
  usedBy: string;
  description: string;
}

/** Every service in apps/, each of which must have a config schema. */
export function services(): string[] {
  return readdirSync(join(ROOT, 'apps'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

function schemaOf(service: string): z.ZodObject {
  const file = `apps/${service}/src/config.ts`;
  if (!existsSync(join(ROOT, file))) throw new Error(`${file} is missing: every service validates its environment`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ConfigSchema } = require(join(ROOT, file)) as { ConfigSchema?: unknown };
  if (!(ConfigSchema instanceof z.ZodObject)) throw new Error(`${file} does not export a zod object ConfigSchema`);
  return ConfigSchema;
}

function defaultOf(schema: z.ZodType): string {
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
  if (def !== undefined) return `\`${String(def)}\``;
  return optional ? '(unset)' : '**required**';
}

/** The first paragraph of each UPPER_CASE property's doc comment in a file, on one line. */
const docCache = new Map<string, Map<string, string>>();
function docComments(file: string): Map<string, string> {
  const cached = docCache.get(file);
  if (cached) return cached;
  const text = readFileSync(join(ROOT, file), 'utf8');
  const docs = new Map<string, string>();
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && /^[A-Z][A-Z0-9_]*$/.test(node.name.text)) {
      const comment = ts.getLeadingCommentRanges(text, node.getFullStart())?.at(-1);
      if (comment && text.startsWith('/**', comment.pos)) {
        if (docs.has(node.name.text)) throw new Error(`${file}: ${node.name.text} has two doc comments`);
        docs.set(node.name.text, firstParagraph(text.slice(comment.pos + 3, comment.end - 2)));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  docCache.set(file, docs);
  return docs;
}

function firstParagraph(body: string): string {
  const lines = body.split('\n').map((l) => l.replace(/^\s*\*?\s?/, '').trim());
  while (lines.length && !lines[0]) lines.shift();
  const end = lines.indexOf('');
  return (end === -1 ? lines : lines.slice(0, end)).join(' ').replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
}

/** Where a service's variable is declared: the platform (the very zod schema of its shapes) or the service. */
function declaringFile(service: string, name: string, schema: z.ZodType): string {
  const platform: Record<string, z.ZodType> = { ...BaseConfigSchema.shape, ...ChannelServiceConfig };
  return platform[name] === schema ? PLATFORM_FILE : `apps/${service}/src/config.ts`;
}

/** The table's rows, sorted by variable; throws naming every variable without a description. */
export function configRows(): Row[] {
  const all = services();
  const vars = new Map<string, Declaration[]>();
  const undocumented: string[] = [];
  for (const service of all) {
    for (const [name, schema] of Object.entries(schemaOf(service).shape)) {
      const file = declaringFile(service, name, schema as z.ZodType);
      const description = docComments(file).get(name);
      if (!description) undocumented.push(`${name} (${file})`);
      const list = vars.get(name) ?? [];
      list.push({ service, def: defaultOf(schema as z.ZodType), description: description ?? '' });
      vars.set(name, list);
    }
  }
  if (undocumented.length) throw new Error(`no doc comment (the table's description) for: ${undocumented.join(', ')}`);
  return [...vars]
    .sort(([a], [b]) => a.localeCompare(b, 'en'))
    .map(([name, decls]) => ({
      name,
      def: merge(decls, (d) => d.def, ', '),
      usedBy: decls.length === all.length ? 'all services' : decls.map((d) => d.service).join(', '),
      description: merge(decls, (d) => d.description, '<br>'),
    }));
}

/** One value when every service agrees, else each service's own. */
function merge(decls: Declaration[], value: (d: Declaration) => string, sep: string): string {
  const values = new Set(decls.map(value));
  return values.size === 1 ? [...values][0] : decls.map((d) => `${d.service}: ${value(d)}`).join(sep);
}

export function renderTable(rows: Row[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(HEADER),
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows.map((r) => line([`\`${r.name}\``, r.def, r.usedBy, r.description])),
  ].join('\n');
}

/** The configuration table's lines in a README (from its `| Variable |` header to the table's end). */
export function findTable(readme: string): { start: number; end: number; lines: string[] } {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^\|\s*Variable\s*\|/.test(l));
  if (start === -1) throw new Error(`${README}: no configuration table (a line starting "| Variable |")`);
  let end = start;
  while (end < lines.length && lines[end].startsWith('|')) end++;
  return { start, end, lines: lines.slice(start, end) };
}

/** Rows of a markdown table (header and separator skipped), keyed by the variable. */
export function parseTable(lines: string[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const line of lines.slice(2)) {
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    const name = cells[0].replace(/`/g, '');
    rows.set(name, { name, def: cells[1] ?? '', usedBy: cells[2] ?? '', description: cells[3] ?? '' });
  }
  return rows;
}

function main() {
  const table = renderTable(configRows());
  if (!process.argv.includes('--write')) {
    console.log(table);
    return;
  }
  const path = join(ROOT, README);
  const readme = readFileSync(path, 'utf8');
  const { start, end } = findTable(readme);
  const lines = readme.split('\n');
  lines.splice(start, end - start, table);
  writeFileSync(path, lines.join('\n'));
  console.log(
    `${README}: configuration table rewritten (${end - start - 2} rows before, ${table.split('\n').length - 2} now)`,
  );
}

if (resolve(process.argv[1] ?? '') === __filename) main();
