import { isIP } from 'node:net';

/**
 * Which IP addresses safeFetch refuses to connect to: everything that is not a
 * globally routable unicast address. An IPv6 address that embeds an IPv4 one
 * (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) is judged by the IPv4 address it reaches.
 */
interface Range {
  prefix: number[];
  bits: number;
  label: string;
}

const v4 = (cidr: string, label: string): Range => {
  const [ip, bits] = cidr.split('/');
  return { prefix: ip.split('.').map(Number), bits: Number(bits), label };
};
const v6 = (cidr: string, label: string): Range => {
  const [ip, bits] = cidr.split('/');
  return { prefix: ipv6Bytes(ip)!, bits: Number(bits), label };
};

const IPV4_REFUSED: Range[] = [
  v4('0.0.0.0/8', 'this-network'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared (CGNAT)'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  // 240/4 is reserved; 255.255.255.255 (limited broadcast) is inside it.
  v4('240.0.0.0/4', 'reserved'),
];

const IPV6_REFUSED: Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('64:ff9b:1::/48', 'private (local NAT64)'),
  // What is left of ::/8 once the forms embedding IPv4 were judged by their IPv4 address.
  v6('::/8', 'reserved'),
  v6('100::/64', 'discard-only'),
  // IETF protocol assignments, Teredo (2001::/32) included.
  v6('2001::/23', 'reserved'),
  v6('2001:db8::/32', 'documentation'),
  v6('3fff::/20', 'documentation'),
  v6('fc00::/7', 'unique-local'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'site-local'),
  v6('ff00::/8', 'multicast'),
];

function inRange(bytes: number[], range: Range): boolean {
  let bits = range.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (range.prefix[i] & mask)) return false;
  }
  return true;
}

/** The 16 bytes of an IPv6 address (zone id and brackets ignored), or null when it is not one. */
export function ipv6Bytes(input: string): number[] | null {
  let s = input
    .replace(/^\[|\]$/g, '')
    .split('%')[0]
    .toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const q = dotted.slice(1).map(Number);
    if (q.some((n) => n > 255)) return null;
    s = `${s.slice(0, dotted.index)}${((q[0] << 8) | q[1]).toString(16)}:${((q[2] << 8) | q[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** The IPv4 address an IPv6 one reaches, when it embeds one. */
function embeddedIpv4(b: number[]): { ip: number[]; form: string } | null {
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return { ip: b.slice(12), form: 'IPv4-mapped' };
  // ::a.b.c.d, but not :: and ::1 themselves (unspecified / loopback on their own).
  if (zero(0, 12) && !zero(12, 15)) return { ip: b.slice(12), form: 'IPv4-compatible' };
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0)
    return { ip: b.slice(12), form: 'IPv4-translated' };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12))
    return { ip: b.slice(12), form: 'NAT64' };
  if (b[0] === 0x20 && b[1] === 0x02) return { ip: b.slice(2, 6), form: '6to4' };
  return null;
}

function classifyIpv4(q: number[]): string | null {
  return IPV4_REFUSED.find((r) => inRange(q, r))?.label ?? null;
}

/**
 * Why an address is refused (`loopback`, `private`, `link-local`, …), or null
 * for a public unicast address. A string that is not an IP address is refused.
 */
export function refusedAddressKind(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '').split('%')[0];
  const family = isIP(bare);
  if (family === 4) return classifyIpv4(bare.split('.').map(Number));
  if (family !== 6) return 'not an IP address';
  const bytes = ipv6Bytes(bare);
  if (!bytes) return 'not an IP address';
  const embedded = embeddedIpv4(bytes);
  if (embedded) {
    const kind = classifyIpv4(embedded.ip);
    if (kind) return `${kind} (${embedded.form})`;
    // ::a.b.c.d is deprecated and ::ffff:0:a.b.c.d is for translators: nothing we should dial.
    if (embedded.form === 'IPv4-compatible' || embedded.form === 'IPv4-translated') return 'reserved';
    return null;
  }
  return IPV6_REFUSED.find((r) => inRange(bytes, r))?.label ?? null;
}
