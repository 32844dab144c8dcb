import { MAX_TNEF_FILES, readTnef } from './tnef';

/** A minimal TNEF writer after [MS-OXTNEF] §2.1.3, independent of the reader. */
function tnefAttribute(level: number, id: number, data: Buffer, badChecksum = false): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt8(level, 0);
  head.writeUInt32LE(id >>> 0, 1);
  head.writeUInt32LE(data.length, 5);
  const sum = Buffer.alloc(2);
  sum.writeUInt16LE((data.reduce((s, x) => s + x, 0) + (badChecksum ? 1 : 0)) & 0xffff);
  return Buffer.concat([head, data, sum]);
}

function tnefStream(attributes: Buffer[]): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32LE(0x223e9f78, 0);
  head.writeUInt16LE(0x1234, 4);
  return Buffer.concat([head, ...attributes]);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const padded = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);

type Prop = { type: number; id: number; value: Buffer | number; named?: string };

/** An attAttachment MAPI property list. Variable-length values carry a count (1) and a size. */
function mapiProps(props: Prop[]): Buffer {
  const parts = [u32(props.length)];
  for (const p of props) {
    parts.push(u32((p.id << 16) | p.type));
    if (p.named !== undefined) {
      const name = Buffer.from(p.named + '\0', 'utf16le');
      parts.push(Buffer.alloc(16, 7), u32(1), u32(name.length), padded(name));
    }
    if (typeof p.value === 'number') parts.push(u32(p.value));
    else parts.push(u32(1), u32(p.value.length), padded(p.value));
  }
  return Buffer.concat(parts);
}

const RENDDATA = 0x00069002;
const TITLE = 0x00018010;
const DATA = 0x0006800f;
const ATTACHMENT = 0x00069005;
const cp1252 = (s: string) => Buffer.from(s + '\0', 'latin1');

const TNEF_FILES = {
  longName: 'Quarterly report – final version with a long name.xlsx',
  longData: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff)),
  shortName: 'notes€.txt',
  shortData: Buffer.from('line 1\r\nline 2\r\n\x00\xff', 'latin1'),
};

/** Two files: one named by PR_ATTACH_LONG_FILENAME (over an 8.3 title), one by its cp1252 title only. */
function sampleTnef(): Buffer {
  const f = TNEF_FILES;
  return tnefStream([
    tnefAttribute(1, 0x00089006, Buffer.from([1, 0, 0, 0])), // attMessageClass-ish message attribute
    tnefAttribute(2, RENDDATA, Buffer.alloc(14)),
    tnefAttribute(2, TITLE, cp1252('QUARTE~1.XLS')),
    tnefAttribute(2, DATA, f.longData),
    tnefAttribute(
      2,
      ATTACHMENT,
      mapiProps([
        { type: 0x0003, id: 0x0e20, value: f.longData.length }, // PR_ATTACH_SIZE
        { type: 0x0003, id: 0x8005, value: 1, named: 'SomeNamedProp' },
        { type: 0x001f, id: 0x3707, value: Buffer.from(f.longName + '\0', 'utf16le') },
        { type: 0x001e, id: 0x370e, value: cp1252('Application/VND.ms-excel') },
      ]),
    ),
    tnefAttribute(2, RENDDATA, Buffer.alloc(14)),
    tnefAttribute(2, TITLE, Buffer.concat([Buffer.from('notes'), Buffer.from([0x80]), Buffer.from('.txt\0')])),
    tnefAttribute(2, DATA, f.shortData),
  ]);
}

describe('readTnef', () => {
  it('extracts the files with their exact bytes, preferring the long MAPI name', () => {
    const { files, warnings } = readTnef(sampleTnef());
    expect(warnings).toEqual([]);
    expect(files.map((f) => [f.name, f.mimeType])).toEqual([
      [TNEF_FILES.longName, 'Application/VND.ms-excel'],
      [TNEF_FILES.shortName, undefined],
    ]);
    expect(files[0].data.equals(TNEF_FILES.longData)).toBe(true);
    expect(files[1].data.equals(TNEF_FILES.shortData)).toBe(true);
  });

  it('takes PR_ATTACH_DATA_BIN when attAttachData is absent', () => {
    const data = Buffer.from('%PDF-1.7 abc');
    const t = tnefStream([
      tnefAttribute(2, RENDDATA, Buffer.alloc(14)),
      tnefAttribute(
        2,
        ATTACHMENT,
        mapiProps([
          { type: 0x001e, id: 0x3707, value: cp1252('from-props.pdf') },
          { type: 0x0102, id: 0x3701, value: data },
        ]),
      ),
    ]);
    const { files } = readTnef(t);
    expect(files.map((f) => f.name)).toEqual(['from-props.pdf']);
    expect(files[0].data.equals(data)).toBe(true);
  });

  it('warns on checksum mismatch but keeps the data', () => {
    const t = tnefStream([
      tnefAttribute(2, RENDDATA, Buffer.alloc(14)),
      tnefAttribute(2, DATA, Buffer.from('abc'), true),
    ]);
    const r = readTnef(t);
    expect(r.warnings).toEqual(['tnef_checksum']);
    expect(r.files.map((f) => f.data.toString())).toEqual(['abc']);
  });

  it('returns what it read from truncated or garbage input, never reading past the end', () => {
    const full = sampleTnef();
    for (let n = 0; n < full.length; n++) {
      const r = readTnef(full.subarray(0, n));
      expect(r.files.length).toBeLessThanOrEqual(2);
      const whole = r.files.every((f) => f.data.equals(TNEF_FILES.longData) || f.data.equals(TNEF_FILES.shortData));
      if (!whole) throw new Error(`partial file data at length ${n}`);
    }
    expect(readTnef(full.subarray(0, full.length - 1)).warnings).toEqual(['tnef_truncated']);
    expect(readTnef(Buffer.from('not tnef at all')).warnings).toEqual(['tnef_signature']);
    // A MAPI list claiming a huge count and size.
    const lying = tnefStream([
      tnefAttribute(2, RENDDATA, Buffer.alloc(14)),
      tnefAttribute(2, DATA, Buffer.from('x')),
      tnefAttribute(
        2,
        ATTACHMENT,
        Buffer.concat([u32(0xffffffff), u32((0x3707 << 16) | 0x1e), u32(1), u32(0xfffffff0)]),
      ),
    ]);
    const r = readTnef(lying);
    expect(r.warnings).toEqual(['tnef_bad_mapi_props']);
    expect(r.files.map((f) => f.data.toString())).toEqual(['x']);
  });

  it(`caps at ${MAX_TNEF_FILES} attachments`, () => {
    const one = [tnefAttribute(2, RENDDATA, Buffer.alloc(14)), tnefAttribute(2, DATA, Buffer.from('x'))];
    const r = readTnef(tnefStream(Array.from({ length: 300 }, () => one).flat()));
    expect(r.files.length).toBe(MAX_TNEF_FILES);
    expect(r.warnings).toEqual(['tnef_attachment_limit']);
  });
});
