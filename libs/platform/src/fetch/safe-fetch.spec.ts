import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { SafeFetchError, SafeFetchOptions, SafeFetchResolver, safeFetch } from './safe-fetch';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local HTTP server that records what reached it. */
async function server(handler: Handler, host = '127.0.0.1') {
  const seen: { path: string; host?: string; authorization?: string }[] = [];
  const s: Server = createServer((req, res) => {
    seen.push({ path: req.url!, host: req.headers.host, authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host}:${port}`,
    hostPort: `${host}:${port}`,
    seen,
    close: () => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    },
  };
}

const base: SafeFetchOptions = { maxBytes: 1024, timeoutMs: 2000 };

async function refusal(p: Promise<unknown>): Promise<SafeFetchError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SafeFetchError);
    return err as SafeFetchError;
  }
  throw new Error('expected a SafeFetchError');
}

/** A resolver that answers from a table and counts the questions. */
function resolver(answers: Record<string, string[] | (() => string[])>) {
  const asked: string[] = [];
  const lookup: SafeFetchResolver = async (host) => {
    asked.push(host);
    const a = answers[host];
    if (!a) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return (typeof a === 'function' ? a() : a).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { lookup, asked };
}

describe('safeFetch', () => {
  let local: Awaited<ReturnType<typeof server>>;
  const timers: NodeJS.Timeout[] = [];
  /** A slow server's answer, 3 s later (cancelled when the tests end). */
  const later = (fn: () => void) => timers.push(setTimeout(fn, 3000));
  beforeAll(async () => {
    local = await server((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/ok') return res.writeHead(200, { 'content-type': 'audio/mpeg' }).end('hello');
      if (url.pathname === '/hop') {
        const n = Number(url.searchParams.get('n'));
        const next = n > 0 ? `/hop?n=${n - 1}` : '/ok';
        return res.writeHead(302, { location: next }).end();
      }
      if (url.pathname === '/to-metadata')
        return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end();
      if (url.pathname === '/to-mapped') return res.writeHead(307, { location: 'http://[::ffff:7f00:1]/ok' }).end();
      if (url.pathname === '/to-file') return res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      if (url.pathname === '/big') return res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000));
      if (url.pathname === '/big-chunked') {
        res.writeHead(200);
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(500));
        return res.end();
      }
      if (url.pathname === '/slow-headers') return void later(() => res.writeHead(200).end('late'));
      if (url.pathname === '/slow-body') {
        res.writeHead(200);
        res.write('a');
        return void later(() => res.end('b'));
      }
      res.writeHead(404).end();
    });
  });
  afterAll(() => {
    timers.forEach(clearTimeout);
    return local.close();
  });

  it('refuses a URL on 127.0.0.1 without an allow-list, before anything is sent', async () => {
    const before = local.seen.length;
    const err = await refusal(safeFetch(`${local.url}/ok?token=s3cret`, base));
    expect(err).toMatchObject({ code: 'blocked_address', transient: false, address: '127.0.0.1' });
    expect(err.message).not.toContain('s3cret');
    expect(err.message).not.toContain('/ok');
    expect(local.seen.length).toBe(before);
    await expect(safeFetch(`http://localhost:${local.port}/ok`, base)).rejects.toMatchObject({
      code: 'blocked_address',
    });
    expect(local.seen.length).toBe(before);
  });

  it('fetches it when the host (or host:port) is on the allow-list', async () => {
    for (const allowHosts of [local.hostPort, '127.0.0.1', ['other.example', `127.0.0.1:${local.port}`]]) {
      const res = await safeFetch(`${local.url}/ok`, { ...base, allowHosts });
      expect(res.status).toBe(200);
      expect(res.header('content-type')).toBe('audio/mpeg');
      expect(await res.text()).toBe('hello');
    }
    // Another port of the same host is not allowed by host:port.
    await expect(safeFetch(`http://127.0.0.1:1/ok`, { ...base, allowHosts: local.hostPort })).rejects.toMatchObject({
      code: 'blocked_address',
    });
  });

  it('refuses other schemes, and IP literals written in other forms', async () => {
    await expect(safeFetch('ftp://files.example/rec.wav', base)).rejects.toMatchObject({
      code: 'unsupported_protocol',
    });
    await expect(safeFetch('file:///etc/passwd', base)).rejects.toMatchObject({ code: 'unsupported_protocol' });
    await expect(safeFetch('not a url', base)).rejects.toMatchObject({ code: 'invalid_url' });
    for (const u of [
      `http://2130706433:${local.port}/ok`,
      `http://0x7f.1:${local.port}/ok`,
      `http://[::ffff:127.0.0.1]:${local.port}/ok`,
      `http://[::1]:${local.port}/ok`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00::1]/',
      'http://0.0.0.0/',
    ])
      await expect(safeFetch(u, base)).rejects.toMatchObject({ code: 'blocked_address' });
  });

  it('refuses a public-looking name that resolves to an internal address, or to a mix', async () => {
    const dns = resolver({
      'recordings.pbx-vendor.example': ['127.0.0.1'],
      'mixed.example': ['93.184.215.14', '10.0.0.7'],
      'v6.example': ['::ffff:7f00:1'],
    });
    const before = local.seen.length;
    for (const host of ['recordings.pbx-vendor.example', 'mixed.example', 'v6.example'])
      await expect(safeFetch(`http://${host}:${local.port}/ok`, { ...base, lookup: dns.lookup })).rejects.toMatchObject(
        { code: 'blocked_address', host: `${host}:${local.port}` },
      );
    expect(local.seen.length).toBe(before);
    await expect(safeFetch('http://nowhere.example/', { ...base, lookup: dns.lookup })).rejects.toMatchObject({
      code: 'dns_failed',
      transient: true,
    });
  });

  it('connects to the address it checked, not to a later DNS answer (rebinding)', async () => {
    // Two local servers on one port, the name answering the first and then the second: the
    // connection goes where the checked (first) answer pointed and DNS is asked only once.
    // (Never a public address here: tests send traffic to this machine only.)
    const first = await server((_q, r) => r.end('checked'), '127.0.0.2');
    let second: Awaited<ReturnType<typeof server>> | undefined;
    try {
      second = await new Promise<Awaited<ReturnType<typeof server>>>((resolve, reject) => {
        const s = createServer((_q, r) => r.end('rebound'));
        s.once('error', reject);
        s.listen(first.port, '127.0.0.3', () =>
          resolve({
            port: first.port,
            url: '',
            hostPort: '',
            seen: [],
            close: () => new Promise((r) => s.close(r)),
          }),
        );
      });
      let m = 0;
      const pinned = resolver({ 'pinned.example': () => (m++ === 0 ? ['127.0.0.2'] : ['127.0.0.3']) });
      const res = await safeFetch(`http://pinned.example:${first.port}/x`, {
        ...base,
        allowHosts: 'pinned.example',
        lookup: pinned.lookup,
      });
      expect(await res.text()).toBe('checked');
      expect(pinned.asked).toEqual(['pinned.example']);
      expect(first.seen).toEqual([{ path: '/x', host: `pinned.example:${first.port}`, authorization: undefined }]);
    } finally {
      await first.close();
      await second?.close();
    }
  });

  it('re-checks every redirect: an allowed host redirecting to 169.254.169.254 or a mapped loopback is refused', async () => {
    const opts = { ...base, allowHosts: local.hostPort };
    await expect(safeFetch(`${local.url}/to-metadata`, opts)).rejects.toMatchObject({
      code: 'blocked_address',
      host: '169.254.169.254',
    });
    await expect(safeFetch(`${local.url}/to-mapped`, opts)).rejects.toMatchObject({ code: 'blocked_address' });
    await expect(safeFetch(`${local.url}/to-file`, opts)).rejects.toMatchObject({ code: 'unsupported_protocol' });
  });

  it('follows at most 3 redirects', async () => {
    const opts = { ...base, allowHosts: local.hostPort };
    // n=2: /hop?n=2 → n=1 → n=0 → /ok: three redirects.
    const res = await safeFetch(`${local.url}/hop?n=2`, opts);
    expect(await res.text()).toBe('hello');
    await expect(safeFetch(`${local.url}/hop?n=3`, opts)).rejects.toMatchObject({
      code: 'too_many_redirects',
      transient: false,
    });
  });

  it('keeps credentials for the caller’s origin and drops them on a redirect elsewhere', async () => {
    const other = await server((_q, r) => r.end('elsewhere'));
    const hop = await server((req, res) =>
      req.url === '/same'
        ? res.writeHead(302, { location: '/final' }).end()
        : req.url === '/final'
          ? res.end('same')
          : res.writeHead(302, { location: `${other.url}/x` }).end(),
    );
    try {
      const opts = {
        ...base,
        allowHosts: [hop.hostPort, other.hostPort],
        headers: { authorization: 'Basic c2VjcmV0' },
      };
      expect(await (await safeFetch(`${hop.url}/same`, opts)).text()).toBe('same');
      expect(hop.seen.map((s) => s.authorization)).toEqual(['Basic c2VjcmV0', 'Basic c2VjcmV0']);
      expect(await (await safeFetch(`${hop.url}/away`, opts)).text()).toBe('elsewhere');
      expect(other.seen).toEqual([expect.objectContaining({ path: '/x', authorization: undefined })]);
    } finally {
      await hop.close();
      await other.close();
    }
  });

  it('an inbox host list refuses a public host that is not on it, on every hop', async () => {
    const dns = resolver({ 'cdn.example': ['93.184.215.14'] });
    await expect(
      safeFetch('https://cdn.example/a.jpg', { ...base, onlyHosts: ['media.example'], lookup: dns.lookup }),
    ).rejects.toMatchObject({ code: 'host_not_allowed', host: 'cdn.example' });
    expect(dns.asked).toEqual([]);
    // On the list (and allowed to be local), but the redirect leaves it.
    await expect(
      safeFetch(`${local.url}/to-metadata`, { ...base, allowHosts: local.hostPort, onlyHosts: [local.hostPort] }),
    ).rejects.toMatchObject({ code: 'host_not_allowed', host: '169.254.169.254' });
    const res = await safeFetch(`${local.url}/ok`, { ...base, allowHosts: local.hostPort, onlyHosts: ['127.0.0.1'] });
    expect(await res.text()).toBe('hello');
  });

  it('aborts a body larger than the cap, announced or streamed', async () => {
    const opts = { ...base, allowHosts: local.hostPort };
    await expect(safeFetch(`${local.url}/big`, opts)).rejects.toMatchObject({ code: 'too_large', transient: false });
    const res = await safeFetch(`${local.url}/big-chunked`, opts);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toMatchObject({ code: 'too_large' });
    // Exactly the cap is fine.
    const exact = await safeFetch(`${local.url}/big-chunked`, { ...opts, maxBytes: 5000 });
    expect((await exact.text()).length).toBe(5000);
  });

  it('times out a slow server, before the headers or during the body', async () => {
    const opts = { ...base, allowHosts: local.hostPort, timeoutMs: 300 };
    let t = Date.now();
    await expect(safeFetch(`${local.url}/slow-headers`, opts)).rejects.toMatchObject({
      code: 'timeout',
      transient: true,
    });
    expect(Date.now() - t).toBeLessThan(2000);
    t = Date.now();
    const res = await safeFetch(`${local.url}/slow-body`, opts);
    await expect(res.text()).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - t).toBeLessThan(2000);
  });
});
