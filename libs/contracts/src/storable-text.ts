/**
 * What Postgres cannot hold: U+0000 in `text` ("invalid byte sequence") and `\u0000` in `jsonb`
 * ("unsupported Unicode escape sequence"), and lone UTF-16 surrogates, which JSON.stringify writes
 * as `\udXXX` escapes that `jsonb` refuses and which the UTF-8 encoder of a `text` parameter
 * silently turns into U+FFFD. A customer's message carrying either used to fail every retry and
 * then its dead-letter insert too, so it vanished after being acknowledged.
 *
 * The rule lives here, applied once at the contract boundary (`parseJob`): every string of a job
 * payload, keys included, is made storable by replacing those code units with U+FFFD. An inbound
 * message records which fields changed and their exact originals (`metadata.textAltered`), so
 * ticket-service keeps the original as bytes beside the message.
 */

/** Deeper than any payload we produce or a provider documents (Meta's webhooks are ~8 levels). */
export const MAX_PAYLOAD_DEPTH = 64;

const REPLACEMENT = '\uFFFD';

export function isStorableText(s: string): boolean {
  return s.indexOf('\u0000') === -1 && s.isWellFormed();
}

export function toStorableText(s: string): string {
  if (isStorableText(s)) return s;
  return s.toWellFormed().replaceAll('\u0000', REPLACEMENT);
}

/** The first field path (`a.b.0.c`) holding text Postgres cannot store, or null. Bounded by depth. */
export function findUnstorableText(value: unknown, path: string[] = [], depth = 0): string | null {
  if (typeof value === 'string') return isStorableText(value) ? null : path.join('.') || '(value)';
  if (typeof value !== 'object' || value === null || depth > MAX_PAYLOAD_DEPTH) return null;
  for (const [k, v] of Object.entries(value)) {
    if (!isStorableText(k)) return [...path, toStorableText(k)].join('.');
    const found = findUnstorableText(v, [...path, k], depth + 1);
    if (found) return found;
  }
  return null;
}

/** Whether a parsed value nests deeper than `max` (stops descending at the limit). */
export function valueDepthExceeds(value: unknown, max: number, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= max) return true;
  for (const v of Object.values(value)) if (valueDepthExceeds(v, max, depth + 1)) return true;
  return false;
}

export class PayloadTooDeepError extends Error {
  constructor(readonly maxDepth = MAX_PAYLOAD_DEPTH) {
    super(`nested deeper than ${maxDepth} levels`);
    this.name = 'PayloadTooDeepError';
  }
}

export interface StorableResult<T> {
  value: T;
  /** Paths of the strings that changed, e.g. `text`, `sender.displayName`, `metadata.tags.0`. */
  altered: string[];
  /** Each altered path's original string (a key's original under `path` + `#key`). */
  originals: Record<string, string>;
}

/**
 * A copy of `value` in which every string (and object key) is storable. Returns the same object
 * when nothing needed a change, so the common path allocates nothing. Throws PayloadTooDeepError
 * beyond MAX_PAYLOAD_DEPTH instead of overflowing the stack later in JSON.stringify.
 */
export function makeStorable<T>(value: T): StorableResult<T> {
  const altered: string[] = [];
  const originals: Record<string, string> = {};
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (typeof v === 'string') {
      if (isStorableText(v)) return v;
      altered.push(path || '(value)');
      originals[path || '(value)'] = v;
      return toStorableText(v);
    }
    if (typeof v !== 'object' || v === null) return v;
    if (depth >= MAX_PAYLOAD_DEPTH) throw new PayloadTooDeepError();
    if (Array.isArray(v)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const next = walk(v[i], path ? `${path}.${i}` : String(i), depth + 1);
        if (next !== v[i]) (copy ??= v.slice())[i] = next;
      }
      return copy ?? v;
    }
    let copy: Record<string, unknown> | undefined;
    const entries = Object.entries(v as Record<string, unknown>);
    for (const [k, item] of entries) {
      let key = k;
      // Paths name the storable key: they are stored themselves.
      const childPath = () => (path ? `${path}.${key}` : key);
      if (!isStorableText(k)) {
        key = toStorableText(k);
        altered.push(`${childPath()}#key`);
        originals[`${childPath()}#key`] = k;
      }
      const next = walk(item, childPath(), depth + 1);
      if (key !== k || next !== item) {
        if (!copy) {
          copy = {};
          for (const [ck, cv] of entries) {
            if (ck === k) break;
            copy[ck] = cv;
          }
        }
      }
      if (copy) copy[key] = next;
    }
    return copy ?? v;
  };
  return { value: walk(value, '', 0) as T, altered, originals };
}

/**
 * The original strings as storable bytes: JSON escapes NUL and lone surrogates, so
 * `JSON.parse(bytes.toString('utf8'))` gives back exactly what the customer sent.
 */
export function encodeOriginals(originals: Record<string, string>): string {
  return JSON.stringify(originals);
}

/** The JSON text of a payload, whatever it holds: deep values are serialised without recursion. */
export function payloadText(payload: unknown): string {
  try {
    return JSON.stringify(payload ?? null) ?? 'null';
  } catch {
    // RangeError (nesting beyond the stack) or a cycle: keep what can be kept rather than lose the letter.
    return iterativeJson(payload);
  }
}

function iterativeJson(root: unknown): string {
  type Task = { value: unknown } | string;
  const out: string[] = [];
  const tasks: Task[] = [{ value: root }];
  const seen = new Set<object>();
  while (tasks.length) {
    const t = tasks.pop()!;
    if (typeof t === 'string') {
      out.push(t);
      continue;
    }
    const v = t.value;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
      continue;
    }
    if (seen.has(v)) {
      out.push('"[cycle]"');
      continue;
    }
    seen.add(v);
    const isArray = Array.isArray(v);
    const entries: [string | null, unknown][] = isArray ? v.map((x) => [null, x]) : Object.entries(v);
    // Pushed in reverse so the stack pops them in order; a loop, not a spread (arrays may be huge).
    tasks.push(isArray ? ']' : '}');
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, x] = entries[i];
      tasks.push({ value: x }, `${i ? ',' : ''}${k === null ? '' : `${JSON.stringify(k)}:`}`);
    }
    out.push(isArray ? '[' : '{');
  }
  return out.join('');
}

/** Bracket nesting of a JSON text, strings skipped (no parse, no recursion). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}
