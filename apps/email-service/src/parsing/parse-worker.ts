import { parentPort } from 'node:worker_threads';
import { BlobStore } from '@oq/platform/blob-store/blob-store';
import { ParseOptions, ParsedMail, parseMail } from './parse-mail';

/** Worker-thread entry: parses one mail per message so a slow one can be terminated alone. */
interface Request {
  id: number;
  raw: Uint8Array;
  options: ParseOptions;
}

let blobs: BlobStore | undefined;

async function handle(req: Request): Promise<ParsedMail> {
  const result = await parseMail(Buffer.from(req.raw.buffer, req.raw.byteOffset, req.raw.byteLength), req.options);
  if (req.options.blobDir) {
    blobs ??= new BlobStore(req.options.blobDir);
    for (const a of result.attachments) {
      await blobs.put(Buffer.from(a.content!.buffer, a.content!.byteOffset, a.content!.byteLength));
      a.content = undefined;
    }
  }
  return result;
}

parentPort?.on('message', (req: Request) => {
  handle(req).then(
    (result) => {
      // Bytes not stored here are handed over instead of copied.
      const transfer = new Set<ArrayBuffer>();
      for (const a of result.attachments) if (a.content) transfer.add(a.content.buffer as ArrayBuffer);
      parentPort!.postMessage({ id: req.id, ok: true, result }, [...transfer]);
    },
    (err: Error) => parentPort!.postMessage({ id: req.id, ok: false, error: err?.message ?? String(err) }),
  );
});

parentPort?.postMessage({ ready: true });
