import { createHash } from 'node:crypto';
import { MAX_UU_FILES, decodeUuBody, findUuBlocks } from './uuencode';
import { expectLinear } from './linear-time.testing';

/**
 * Made by Python: data = bytes(range(256)) + b'\r\n\x00\xff' * 10 + b'hello uu world', written as
 * `begin 644 report v2.bin`, binascii.b2a_uu of 45-byte chunks, b2a_uu(b'') and `end` (LF line
 * ends; the last data line ends in spaces, Python's zero character).
 */
const UU_BLOCK = Buffer.from(
  'YmVnaW4gNjQ0IHJlcG9ydCB2Mi5iaW4KTSAgJCIgUDAlIUA8KCIwSCsjIFQuI1EgMSRBLDQlMTg3JiFEOiZRUD0nQVxAKDIoQykiNEYpUkBJKkJMTApNKzJYTywjJFIsUzBVLUM8WC4zSFsvI1ReL1QhITBELSQxNDknMiRFKjJUUS0zRF0wNDUpMzUlNTY1VUE5Ck02RU08NzVZPzgmJUI4VjFFOUY9SDo2SUs7JlVOO1chUTxHLVQ9NzlXPidFWj5XUV0/R14gQDgqI0EoNiYKTUFYQilCSE4sQzhaL0QpJjJEWTI1RUk+OEY5SjtHKVY+R1oiQUhKLkRJOjpHSipGSkpaUk1LSl5QTDsqUwpNTSs2Vk1bQllOS05cTztaX1AsJyJQXDMlUUw/KFI8SytTLFcuU10jMVRNLzRVPTs3Vi1HOlZdUz1XTV9ACk1YPitDWS43RlleQ0laTk9MWz5bT1wvJ1JcXzNVXU8/WF4/S1tfL1deX1BUKiAvXC0iQCNfIzBIIF9QVCoKSCAvXC0iQCNfIzBIIF9QVCogL1wtIkAjXyMwSCBfUFQqIC9dSDk2UUw7UiFVPTIhVztXKUw5ICAgCiAKZW5kCg==',
  'base64',
);
const UU_SHA256 = '02f8494e44137ff1bfb0fabcc91ea6f17ced4bd1a09580b3fe30ed99e72d54c8';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const b = (s: string) => Buffer.from(s, 'latin1');

describe('findUuBlocks', () => {
  it('finds a Python-made block inside text, with its exact range', () => {
    const before = b('Hi,\r\nthe file:\r\n\r\n');
    const after = b('\r\nregards\r\n');
    const crlfBlock = b(UU_BLOCK.toString('latin1').replace(/\n/g, '\r\n'));
    for (const block of [UU_BLOCK, crlfBlock]) {
      const [found, ...more] = findUuBlocks(Buffer.concat([before, block, after]));
      expect(more).toEqual([]);
      expect(sha(found.data)).toBe(UU_SHA256);
      expect(found.name.toString()).toBe('report v2.bin');
      expect([found.start, found.end]).toEqual([before.length, before.length + block.length]);
    }
  });

  it('finds consecutive blocks and accepts backtick zeros and a 4-digit mode', () => {
    const two = b('begin 0600 a\n#86)C\n`\nend\nbegin 644 b\n"86$`\n`\nend');
    expect(findUuBlocks(two).map((x) => [x.name.toString(), x.data.toString()])).toEqual([
      ['a', 'abc'],
      ['b', 'aa'],
    ]);
  });

  it('leaves things that only look like uuencode alone', () => {
    const fakes = [
      'begin 644 x\nM86)C\n`\nend\n', // length char says 45 bytes, line is short
      'begin 644 x\n#86)C\n`\n', // no end
      'begin 644 x\n#86)C\nend\n', // no zero-length line
      'begin 644 x\n#86)C\n`\nsome text\nend\n', // text between
      'begin 644 x\n#86)C\u00e4\n`\nend\n', // char outside the alphabet
      'begin 64 x\n#86)C\n`\nend\n', // bad mode
      'please begin 644 x\n#86)C\n`\nend\n', // not at a line start
      'begin the meeting at 10\nend of story\n',
    ];
    for (const f of fakes) expect(findUuBlocks(b(f))).toEqual([]);
    // A failed candidate does not hide a real block after it.
    expect(findUuBlocks(b(fakes[0] + 'begin 644 y\n#86)C\n`\nend\n')).map((x) => x.name.toString())).toEqual(['y']);
  });

  it('takes at most MAX_UU_FILES blocks', () => {
    expect(findUuBlocks(b('begin 644 a\n#86)C\n`\nend\n'.repeat(MAX_UU_FILES + 50))).length).toBe(MAX_UU_FILES);
  });

  it('is linear on many fake begin lines', () => {
    expect(findUuBlocks(b('begin 644 x\n#86)C\n'.repeat(200_000)))).toEqual([]);
    const hostile = [1, 4].map((n) => b('begin 644 x\n#86)C\n'.repeat(25_000 * n)));
    expectLinear((scale) => findUuBlocks(hostile[scale === 1 ? 0 : 1]));
  });
});

describe('decodeUuBody', () => {
  it('decodes leniently: stripped trailing spaces count as zeros', () => {
    const stripped = b(UU_BLOCK.toString('latin1').replace(/ +\n/g, '\n'));
    expect(findUuBlocks(stripped)).toEqual([]);
    const r = decodeUuBody(stripped)!;
    expect(sha(r.data)).toBe(UU_SHA256);
    expect(r.name.toString()).toBe('report v2.bin');
  });

  it('needs a begin line', () => {
    expect(decodeUuBody(b('#86)C\n`\nend\n'))).toBeUndefined();
  });
});
