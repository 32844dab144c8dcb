import fc from 'fast-check';
import { JobName } from './queues';
import { InvalidPayloadError, parseJob } from './jobs';
import {
  MAX_PAYLOAD_DEPTH,
  findUnstorableText,
  isStorableText,
  jsonDepth,
  makeStorable,
  payloadText,
  toStorableText,
} from './storable-text';

const hostileChar = fc.constantFrom('\u0000', '\ud800', '\udfff', '\u200f', '\u200b', 'a', '好', '😀', '\\', '"');
const hostileString = fc.array(hostileChar, { maxLength: 40 }).map((a) => a.join(''));

describe('storable text (what Postgres text and jsonb can hold)', () => {
  it('makes any string storable, keeps well-formed text untouched and keeps surrogate pairs', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = toStorableText(s);
        expect(isStorableText(out)).toBe(true);
        expect(out.length).toBe(s.length);
        if (isStorableText(s)) expect(out).toBe(s);
      }),
      { seed: 1312, numRuns: 2000 },
    );
    expect(toStorableText('a\u0000b\ud83d\ude00c\ud800')).toBe('a\ufffdb😀c\ufffd');
  });

  it('copies only what changed, records every altered path with its exact original', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().chain((v) => fc.tuple(fc.constant(v), hostileString, hostileString)),
        ([v, k, s]) => {
          const value = { base: v, [k]: [s, { x: s }] };
          const { value: out, altered, originals } = makeStorable(value);
          expect(findUnstorableText(out)).toBeNull();
          // JSON of the output is accepted by jsonb: no \u0000 escapes, no lone surrogate escapes.
          expect(JSON.stringify(out)).not.toMatch(/\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\udc)|\\ud[c-f][0-9a-f]{2}/);
          for (const path of altered) expect(isStorableText(originals[path])).toBe(false);
          if (!altered.length) expect(out).toBe(value);
        },
      ),
      { seed: 4711, numRuns: 1000 },
    );
  });

  it('refuses payloads nested deeper than the limit instead of overflowing later', () => {
    let deep: unknown = 'x';
    for (let i = 0; i <= MAX_PAYLOAD_DEPTH; i++) deep = { d: deep };
    expect(() => makeStorable(deep)).toThrow(/nested deeper than 64/);
    const payload = { v: 1, metadata: deep };
    expect(() => parseJob(JobName.DeliveryReport, payload)).toThrow(InvalidPayloadError);
  });

  it('measures JSON depth on the text, strings and escapes skipped', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[{{{\\"]]"}]}')).toBe(3);
    expect(jsonDepth('[]')).toBe(1);
    expect(jsonDepth('"[["')).toBe(0);
    expect(jsonDepth('['.repeat(100000))).toBe(100000);
  });

  it('serialises any payload for a dead letter, however deep', () => {
    let deep: unknown = { end: 'a\u0000' };
    for (let i = 0; i < 50000; i++) deep = i % 2 ? [deep, 1] : { k: deep };
    const text = payloadText(deep);
    expect(JSON.parse(text)).toBeDefined();
    expect(text.endsWith(',1]')).toBe(true);
    expect(jsonDepth(text)).toBe(50001);
    expect(text).toContain('{"end":"a\\u0000"}');
    expect(payloadText({ a: [1, 'b', null, { c: true }] })).toBe('{"a":[1,"b",null,{"c":true}]}');
  });
});
