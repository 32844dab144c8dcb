import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** One request as a provider stand-in received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  /** Parsed JSON body, when the request was JSON. */
  json?: unknown;
  /** Multipart / urlencoded fields (files as { filename, type, bytes }). */
  form?: Record<string, string | { filename: string; type: string; bytes: Buffer }>;
  at: number;
}

export interface ScriptedResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Matcher = (req: RecordedRequest) => boolean;

/**
 * A local HTTP server standing in for a provider's cloud: records every request
 * (body parsed as JSON or multipart like the provider would) and lets a test
 * script the next responses (errors, 429s) or hold a response until it has done
 * something else (a status webhook that overtakes the send response).
 */
export abstract class RecordingHttpServer {
  readonly requests: RecordedRequest[] = [];
  private server?: Server;
  private scripted: { match: Matcher; response: ScriptedResponse; times: number }[] = [];
  private holds: { match: Matcher; until: (req: RecordedRequest) => Promise<void> }[] = [];
  baseUrl = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** The next `times` requests matching get this response instead of the normal one. */
  script(match: Matcher, response: ScriptedResponse, times = 1): void {
    this.scripted.push({ match, response, times });
  }

  /** Requests matching wait for `until` before they are answered (once). */
  hold(match: Matcher, until: (req: RecordedRequest) => Promise<void>): void {
    this.holds.push({ match, until });
  }

  find(match: Matcher): RecordedRequest[] {
    return this.requests.filter(match);
  }

  protected abstract handle(req: RecordedRequest): Promise<ScriptedResponse | { bytes: Buffer; type: string }>;

  private async dispatch(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url!, 'http://local');
    const rec: RecordedRequest = {
      method: req.method!,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      raw,
      at: Date.now(),
    };
    const type = req.headers['content-type'] ?? '';
    try {
      if (type.includes('application/json') && raw.length) rec.json = JSON.parse(raw.toString('utf8'));
      else if (type.includes('multipart/form-data') || type.includes('application/x-www-form-urlencoded'))
        rec.form = await parseForm(raw, type);
    } catch {
      return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"unparseable body"}');
    }
    this.requests.push(rec);

    const hold = this.holds.findIndex((h) => h.match(rec));
    if (hold >= 0) {
      const [h] = this.holds.splice(hold, 1);
      await h.until(rec);
    }
    const scripted = this.scripted.find((s) => s.times > 0 && s.match(rec));
    let out: ScriptedResponse | { bytes: Buffer; type: string };
    if (scripted) {
      scripted.times--;
      out = scripted.response;
    } else out = await this.handle(rec);
    if ('bytes' in out) return void res.writeHead(200, { 'content-type': out.type }).end(out.bytes);
    res
      .writeHead(out.status, { 'content-type': 'application/json', ...(out.headers ?? {}) })
      .end(out.body === undefined ? '' : JSON.stringify(out.body));
  }
}

async function parseForm(raw: Buffer, type: string): Promise<RecordedRequest['form']> {
  const form = await new Request('http://local', {
    method: 'POST',
    headers: { 'content-type': type },
    body: new Uint8Array(raw),
  }).formData();
  const out: NonNullable<RecordedRequest['form']> = {};
  for (const [k, v] of form.entries()) {
    if (typeof v === 'string') out[k] = v;
    else out[k] = { filename: v.name, type: v.type, bytes: Buffer.from(await v.arrayBuffer()) };
  }
  return out;
}
