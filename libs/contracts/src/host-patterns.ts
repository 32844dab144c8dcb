import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Host lists (FETCH_ALLOW_HOSTS, an inbox's recording/media hosts): each entry is
 * `host`, `host:port`, `*.domain` or `*.domain:port` (any subdomain of domain, not
 * domain itself); IPv6 literals in brackets (`[::1]:8080`). Host names compare
 * case-insensitively, IP literals in their canonical form; without a port any port matches.
 */
export interface HostPattern {
  host: string;
  wildcard: boolean;
  port?: number;
}

const LABELS = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** Canonical host of a URL or an entry: lower case, no brackets, no trailing dot, IPs as WHATWG URL writes them. */
export function canonicalHost(host: string): string | null {
  const bare = host.trim().toLowerCase().replace(/\.$/, '');
  const inner = bare.replace(/^\[(.*)\]$/, '$1');
  if (isIP(inner) === 6) {
    try {
      return new URL(`http://[${inner}]/`).hostname.slice(1, -1);
    } catch {
      return null;
    }
  }
  if (!LABELS.test(bare)) return null;
  try {
    // Also turns 0x7f.1 or 2130706433 into 127.0.0.1, as a URL would.
    return new URL(`http://${bare}/`).hostname;
  } catch {
    return null;
  }
}

export function parseHostPattern(entry: string): HostPattern | null {
  const e = entry.trim().toLowerCase();
  if (isIP(e) === 6) return { host: canonicalHost(e)!, wildcard: false };
  const m = /^(\*\.)?(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(e);
  if (!m) return null;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return null;
  const host = canonicalHost(m[2]);
  if (!host) return null;
  const wildcard = m[1] !== undefined;
  if (wildcard && (isIP(host) !== 0 || !host.includes('.'))) return null;
  return { host, wildcard, port };
}

/** Parses a comma-separated list; throws naming the first bad entry. */
export function parseHostList(value: string | readonly string[] | undefined): HostPattern[] {
  const entries = typeof value === 'string' ? value.split(',') : (value ?? []);
  return entries
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      const p = parseHostPattern(e);
      if (!p) throw new Error(`"${e}" is not a host name, host:port or *.domain`);
      return p;
    });
}

export function hostMatches(patterns: readonly HostPattern[], url: URL): boolean {
  const host = canonicalHost(url.hostname);
  if (!host) return false;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return patterns.some(
    (p) => (p.port === undefined || p.port === port) && (p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host),
  );
}

/** One entry of a host list, validated (for settings schemas). */
export const HostPatternEntry = z
  .string()
  .trim()
  .refine((e) => parseHostPattern(e) !== null, 'must be a host name, host:port or *.domain');

/**
 * An inbox's own allow-list of hosts (settings.recordingHosts / settings.mediaHosts):
 * when present, a URL whose host is not on it is refused even if it is public.
 */
export const HostAllowList = z.array(HostPatternEntry).min(1).max(100);
