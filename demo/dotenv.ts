import { existsSync, readFileSync } from 'node:fs';

/**
 * Loads KEY=value lines of .env (as npm start writes it) into process.env without overriding what
 * the environment already says, so `npm run demo:traffic` finds the same DEMO_KEY, database and
 * ports as the stack, and a caller's own variables still win.
 */
export function loadDotEnv(path = '.env'): void {
  if (!existsSync(path)) return;
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m || process.env[m[1]] !== undefined) continue;
    process.env[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
}
