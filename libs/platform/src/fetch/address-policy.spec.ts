import { hostMatches, parseHostList, parseHostPattern } from '@oq/contracts';
import { ipv6Bytes, refusedAddressKind } from './address-policy';

describe('refusedAddressKind (what safeFetch will not connect to)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.10', 'private'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['0.0.0.0', 'this-network'],
    ['0.1.2.3', 'this-network'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
  ])('refuses IPv4 %s (%s)', (ip, kind) => expect(refusedAddressKind(ip)).toBe(kind));

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '11.0.0.1',
    '169.253.255.255',
    '223.255.255.255',
  ])('lets public IPv4 %s through', (ip) => expect(refusedAddressKind(ip)).toBeNull());

  it.each([
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    ['100::1', 'discard-only'],
    ['64:ff9b:1::1', 'private (local NAT64)'],
  ])('refuses IPv6 %s (%s)', (ip, kind) => expect(refusedAddressKind(ip)).toBe(kind));

  it.each([
    ['::ffff:127.0.0.1', 'loopback (IPv4-mapped)'],
    ['::ffff:7f00:1', 'loopback (IPv4-mapped)'],
    ['[::ffff:7f00:1]', 'loopback (IPv4-mapped)'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback (IPv4-mapped)'],
    ['::ffff:169.254.169.254', 'link-local (IPv4-mapped)'],
    ['::ffff:a9fe:a9fe', 'link-local (IPv4-mapped)'],
    ['::ffff:10.1.2.3', 'private (IPv4-mapped)'],
    ['::ffff:c0a8:101', 'private (IPv4-mapped)'],
    ['::ffff:0.0.0.0', 'this-network (IPv4-mapped)'],
    ['::ffff:100.64.0.1', 'shared (CGNAT) (IPv4-mapped)'],
    ['::127.0.0.1', 'loopback (IPv4-compatible)'],
    ['::7f00:1', 'loopback (IPv4-compatible)'],
    ['::a9fe:a9fe', 'link-local (IPv4-compatible)'],
    ['::ffff:0:127.0.0.1', 'loopback (IPv4-translated)'],
    ['64:ff9b::127.0.0.1', 'loopback (NAT64)'],
    ['64:ff9b::a9fe:a9fe', 'link-local (NAT64)'],
    ['2002:7f00:1::', 'loopback (6to4)'],
    ['2002:c0a8:101::1', 'private (6to4)'],
  ])('refuses %s, an IPv6 form of a refused IPv4 (%s)', (ip, kind) => expect(refusedAddressKind(ip)).toBe(kind));

  it('judges embedded public IPv4 addresses by what they reach', () => {
    expect(refusedAddressKind('::ffff:8.8.8.8')).toBeNull();
    expect(refusedAddressKind('64:ff9b::808:808')).toBeNull();
    expect(refusedAddressKind('2002:808:808::1')).toBeNull();
    // Deprecated / translator-only forms are refused whatever they embed.
    expect(refusedAddressKind('::8.8.8.8')).toBe('reserved');
    expect(refusedAddressKind('::ffff:0:8.8.8.8')).toBe('reserved');
  });

  it('lets public IPv6 through and refuses what is not an address', () => {
    expect(refusedAddressKind('2606:4700:4700::1111')).toBeNull();
    expect(refusedAddressKind('2a03:2880:f12f:83:face:b00c:0:25de')).toBeNull();
    expect(refusedAddressKind('2001:4860:4860::8888')).toBeNull();
    expect(refusedAddressKind('localhost')).toBe('not an IP address');
    expect(refusedAddressKind('')).toBe('not an IP address');
    expect(refusedAddressKind('127.1')).toBe('not an IP address');
  });

  it('parses IPv6 text forms into the same bytes', () => {
    const loop = [...Array(15).fill(0), 1];
    expect(ipv6Bytes('::1')).toEqual(loop);
    expect(ipv6Bytes('0000:0000:0000:0000:0000:0000:0000:0001')).toEqual(loop);
    expect(ipv6Bytes('::ffff:127.0.0.1')).toEqual(ipv6Bytes('::ffff:7f00:1'));
    expect(ipv6Bytes('1::2::3')).toBeNull();
    expect(ipv6Bytes('1:2:3:4:5:6:7:8:9')).toBeNull();
    expect(ipv6Bytes('::ffff:1.2.3.256')).toBeNull();
  });
});

describe('host lists (FETCH_ALLOW_HOSTS, inbox recording/media hosts)', () => {
  it('parses host, host:port, *.domain and IPv6 literals; refuses anything else', () => {
    expect(parseHostPattern('API.Twilio.com')).toEqual({ host: 'api.twilio.com', wildcard: false });
    expect(parseHostPattern('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', wildcard: false, port: 8080 });
    expect(parseHostPattern('*.fbcdn.net')).toEqual({ host: 'fbcdn.net', wildcard: true });
    expect(parseHostPattern('[::1]:3000')).toEqual({ host: '::1', wildcard: false, port: 3000 });
    expect(parseHostPattern('::1')).toEqual({ host: '::1', wildcard: false });
    for (const bad of [
      'http://x.com',
      'x.com/path',
      'user@x.com',
      'x.com:0',
      'x.com:99999',
      '*.com',
      '*.1.2.3.4',
      '',
      'a b',
    ])
      expect(parseHostPattern(bad)).toBeNull();
    expect(() => parseHostList('ok.example, bad/entry')).toThrow('"bad/entry"');
  });

  it('matches host names case-insensitively, by port when one is given, wildcards on subdomains only', () => {
    const list = parseHostList('pbx.example.com, 127.0.0.1:4000, *.fbcdn.net, [::1]:443');
    const ok = (u: string) => hostMatches(list, new URL(u));
    expect(ok('https://PBX.example.com./rec.wav')).toBe(true);
    expect(ok('http://pbx.example.com:8080/rec.wav')).toBe(true);
    expect(ok('http://127.0.0.1:4000/x')).toBe(true);
    expect(ok('http://127.0.0.1:4001/x')).toBe(false);
    expect(ok('http://2130706433:4000/x')).toBe(true); // the same address written as a number
    expect(ok('https://scontent-ams2-1.xx.fbcdn.net/v/t1.jpg')).toBe(true);
    expect(ok('https://fbcdn.net/')).toBe(false);
    expect(ok('https://evilfbcdn.net/')).toBe(false);
    expect(ok('https://[0:0:0:0:0:0:0:1]/')).toBe(true);
    expect(ok('http://[::1]/')).toBe(false);
    expect(ok('https://pbx.example.com.evil.net/')).toBe(false);
  });
});
