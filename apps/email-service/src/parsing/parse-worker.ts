import { parentPort } from 'node:worker_threads';
import { ParseOptions, parseMail } from './parse-mail';

/** Worker-thread entry: parses one mail per message so a slow one can be terminated alone. */
interface Request {
  id: number;
  raw: Uint8Array;
  options: ParseOptions;
}

parentPort?.on('message', (req: Request) => {
  parseMail(Buffer.from(req.raw.buffer, req.raw.byteOffset, req.raw.byteLength), req.options).then(
    (result) => {
      // Hand the attachment bytes over instead of copying them.
      const transfer = new Set<ArrayBuffer>();
      for (const a of result.attachments) transfer.add(a.content.buffer as ArrayBuffer);
      parentPort!.postMessage({ id: req.id, ok: true, result }, [...transfer]);
    },
    (err: Error) => parentPort!.postMessage({ id: req.id, ok: false, error: err?.message ?? String(err) }),
  );
});

parentPort?.postMessage({ ready: true });
