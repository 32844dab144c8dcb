import { analyse } from 'chardet';
import fc from 'fast-check';
import { decode as iconvDecode } from 'iconv-lite';
import { canonicalCharset, cjkScore, decodeBytes, detectCharset } from './charset';
import { CharsetHints } from './types';

// The real detector and double-byte decoder, observed: what they are handed is the work a decode does
// (a wall-clock bound would fail on a slow machine and pass on a fast one whatever the code did).
jest.mock('chardet', () => {
  const actual = jest.requireActual<typeof import('chardet')>('chardet');
  return { ...actual, analyse: jest.fn(actual.analyse) };
});
jest.mock('iconv-lite', () => {
  const actual = jest.requireActual<typeof import('iconv-lite')>('iconv-lite');
  return { ...actual, decode: jest.fn(actual.decode) };
});
const detector = jest.mocked(analyse);
const iconv = jest.mocked(iconvDecode);

// Legacy-charset bytes made with Python, e.g. `python3 -c "print('张伟'.encode('gb2312').hex())"`.
const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
const none: CharsetHints = { declared: [] };

describe('canonicalCharset', () => {
  it.each([
    ['UTF-8', 'utf-8'],
    ['utf8', 'utf-8'],
    ['"utf-8"', 'utf-8'],
    [' Windows-1252 ', 'windows-1252'],
    ['iso-8859-1', 'windows-1252'],
    ['us-ascii', 'windows-1252'],
    ['ANSI_X3.4-1968', 'windows-1252'],
    ['latin1', 'windows-1252'],
    ['cp1250', 'windows-1250'],
    ['win-1251', 'windows-1251'],
    ['gb2312', 'gbk'],
    ['x-gbk', 'gbk'],
    ['cp936', 'gbk'],
    ['ms936', 'gbk'],
    ['euc-cn', 'gbk'],
    ['GB18030', 'gb18030'],
    ['big5-hkscs', 'big5'],
    ['cp950', 'big5'],
    ['x-big5', 'big5'],
    ['Shift_JIS', 'shift_jis'],
    ['x-sjis', 'shift_jis'],
    ['cp932', 'shift_jis'],
    ['ms932', 'shift_jis'],
    ['windows-31j', 'shift_jis'],
    ['ks_c_5601-1987', 'euc-kr'],
    ['ks_c_5601', 'euc-kr'],
    ['cp949', 'euc-kr'],
    ['ISO-2022-JP', 'iso-2022-jp'],
    ['iso-2022-jp-2', 'iso-2022-jp'],
    ['iso-2022-jp-3', 'iso-2022-jp'],
    ['utf-7', 'utf-7'],
    ['unicode-1-1-utf-7', 'utf-7'],
    ['koi8-r', 'koi8-r'],
    ['iso_8859-2', 'iso-8859-2'],
    ['cp850', 'cp850'],
  ])('%s → %s', (label, cs) => expect(canonicalCharset(label)).toBe(cs));

  it.each([undefined, '', 'x-unknown', 'unknown-8bit', 'base64', 'binary', 'x-user-defined', 'a'.repeat(100)])(
    'unknown %s → undefined',
    (label) => expect(canonicalCharset(label)).toBeUndefined(),
  );
});

describe('decodeBytes with a label', () => {
  it.each([
    ['gb2312', '张伟', 'd5c5ceb0'],
    ['gbk', '镕', 'e946'], // GBK-only (not GB2312): the gb2312 label is just an alias
    ['gb2312', '镕', 'e946'],
    ['gb18030', '𠀀', '9532 8236'], // four-byte sequence
    ['big5', '陳大文', 'b3afa46aa4e5'],
    ['big5', '㇀', '8840'], // HKSCS: ICU drops it silently
    ['shift_jis', '山田太郎', '8e52936391be9859'],
    ['shift_jis', '①', '8740'], // CP932 (NEC) extension
    ['euc-kr', '김철수', 'b1e8c3b6bcf6'],
    ['ks_c_5601-1987', '똠쌰햏', '8c639b58c164'], // UHC syllables: ICU drops them silently
    ['euc-jp', '山田花子', 'bbb3c5c4b2d6bbd2'],
    ['iso-2022-jp', '山田', '1b2442 3b33 4544 1b2842'],
    ['koi8-r', 'Иван Петров', 'e9d7c1ce20f0c5d4d2cfd7'],
    ['windows-1251', 'Иван Петров', 'c8e2e0ed20cfe5f2f0eee2'],
    ['windows-1250', 'Łukasz Żółć', 'a3756b61737a20aff3b3e6'],
    ['windows-1253', 'Ελένη', 'c5ebddede7'],
    ['windows-1254', 'Çağrı Yılmaz', 'c761f072fd2059fd6c6d617a'],
    ['windows-1252', '„Müller“ – 20 €…', '84 4dfc6c6c6572 93 20 96 20 3230 20 80 85'], // ICU drops 0x80–0x9F
    ['iso-8859-1', 'Müller ™', '4dfc6c6c6572 20 99'],
    ['us-ascii', 'Müller', '4dfc6c6c6572'],
    ['iso-8859-15', 'Ÿ€', 'bea4'],
    ['iso-8859-2', 'Łódź „x”', 'a3f3649f 20 84 78 94'], // C1 bytes: really windows-1250
    ['utf-8', 'Grüße 👋', '4772c3bcc39f6520f09f918b'],
    ['utf-16le', 'Hi', '48006900'],
    ['utf-7', 'Hi Mom -☺-!', '4869204d6f6d202d2b4a6a6f2d2d21'],
  ])('%s: %s', (label, text, bytes) => expect(decodeBytes(hex(bytes), label, none)).toBe(text));

  it('UTF-8 bytes labelled iso-8859-1 / us-ascii / windows-1252 are UTF-8', () => {
    const bytes = Buffer.from('Müller – Zürich', 'utf8');
    for (const label of ['iso-8859-1', 'us-ascii', 'windows-1252', 'koi8-r'])
      expect(decodeBytes(bytes, label, none)).toBe('Müller – Zürich');
  });

  it('Shift_JIS bytes labelled ISO-2022-JP are Shift_JIS (ISO-2022-JP is 7-bit)', () => {
    expect(decodeBytes(hex('8e52936391be9859'), 'iso-2022-jp', none)).toBe('山田太郎');
    expect(decodeBytes(hex('90bf8b818f91'), 'ISO-2022-JP', none)).toBe('請求書');
  });

  it('EUC-JP bytes labelled ISO-2022-JP are EUC-JP', () => {
    expect(decodeBytes(hex('bbb3c5c4b2d6bbd2'), 'iso-2022-jp', none)).toBe('山田花子');
  });

  it('a wrong label falls back to a charset declared elsewhere in the mail, then to windows-1252', () => {
    // GBK bytes labelled UTF-8.
    expect(decodeBytes(hex('d5c5ceb0'), 'utf-8', { declared: ['gbk'] })).toBe('张伟');
    // latin-1 "Müller" labelled Shift_JIS (FC 6C is no Shift_JIS character): windows-1252.
    expect(decodeBytes(hex('4dfc6c6c6572'), 'shift_jis', none)).toBe('Müller');
    expect(decodeBytes(hex('4dfc6c6c6572'), 'utf-8', none)).toBe('Müller');
  });

  it('mostly UTF-8 with a stray latin-1 byte keeps the UTF-8 and reads the stray byte as windows-1252', () => {
    const bytes = Buffer.concat([Buffer.from('Grüße aus Zürich, ', 'utf8'), hex('e9'), Buffer.from('t€', 'utf8')]);
    expect(decodeBytes(bytes, 'utf-8', none)).toBe('Grüße aus Zürich, ét€');
    expect(decodeBytes(bytes, undefined, none)).toBe('Grüße aus Zürich, ét€');
  });

  it('a long double-byte text with one broken character keeps its label', () => {
    const bytes = Buffer.concat([hex('b9d8d3dab7a2c6b1b5c4cecacce2'.repeat(20)), hex('ff'), hex('b9d8d3da')]);
    const text = decodeBytes(bytes, 'gb2312', none);
    expect(text.startsWith('关于发票的问题关于')).toBe(true);
    expect(text.endsWith('�关于')).toBe(true);
  });

  it('never U+FFFD for single-byte data, even with undefined bytes', () => {
    expect(decodeBytes(hex('81 8d 8f 90 9d e9'), 'windows-1252', none)).toBe('\x81\x8d\x8f\x90\x9dé');
    expect(decodeBytes(hex('aa 41'), 'windows-1253', none)).not.toContain('\ufffd');
    expect(decodeBytes(hex('ff fe fd'), 'iso-2022-jp', none)).not.toContain('\ufffd');
  });

  it('an unknown label is like no label', () => {
    expect(decodeBytes(Buffer.from('Grüße', 'utf8'), 'x-unknown', none)).toBe('Grüße');
    expect(decodeBytes(hex('d5c5ceb0'), 'unknown-8bit', { declared: ['gbk'] })).toBe('张伟');
  });
});

describe('decodeBytes without a label', () => {
  it('7-bit is ASCII; raw 7-bit ISO-2022-JP is recognised by its escapes', () => {
    expect(decodeBytes(Buffer.from('plain text'), undefined, none)).toBe('plain text');
    expect(decodeBytes(hex('1b2442 3b33 4544 1b2842'), undefined, none)).toBe('山田');
  });

  it('valid UTF-8 first, even when another charset is declared', () => {
    expect(decodeBytes(Buffer.from('Müller', 'utf8'), undefined, { declared: ['windows-1252'] })).toBe('Müller');
  });

  it('then the declared charsets in order (the first that decodes); double-byte before single-byte', () => {
    expect(decodeBytes(hex('d5c5ceb0'), undefined, { declared: ['gbk'] })).toBe('张伟');
    expect(decodeBytes(hex('b3afa46aa4e5'), undefined, { declared: ['big5', 'gbk'] })).toBe('陳大文');
    expect(decodeBytes(hex('e9d7c1ce'), undefined, { declared: ['koi8-r', 'windows-1251'] })).toBe('Иван');
    expect(decodeBytes(hex('c8e2e0ed'), undefined, { declared: ['windows-1251', 'koi8-r'] })).toBe('Иван');
    // A single-byte declaration decodes anything: a declared double-byte set that fits comes first.
    expect(decodeBytes(hex('d5c5ceb0'), undefined, { declared: ['windows-1252', 'gbk'] })).toBe('张伟');
    // …but only a plausible reading: latin-1 "Müller" is no GBK text (FC 6C is a rare extension character).
    expect(decodeBytes(hex('4dfc6c6c6572'), undefined, { declared: ['gbk', 'windows-1252'] })).toBe('Müller');
  });

  it('a declared ISO-2022-JP hints at Shift_JIS / EUC-JP for 8-bit bytes', () => {
    expect(decodeBytes(hex('8e52936391be9859'), undefined, { declared: ['iso-2022-jp'] })).toBe('山田太郎');
    expect(decodeBytes(hex('bbb3c5c4b2d6bbd2'), undefined, { declared: ['iso-2022-jp'] })).toBe('山田花子');
  });

  it('then the detected charset', () => {
    expect(decodeBytes(hex('d5c5ceb0'), undefined, { declared: [], detected: 'gbk' })).toBe('张伟');
    expect(decodeBytes(hex('c5ebddede7'), undefined, { declared: [], detected: 'windows-1253' })).toBe('Ελένη');
  });

  it('detects a body on its own (chardet over a sample)', () => {
    const gbk = hex('b9d8d3dab7a2c6b1b5c4cecacce2a3acc7ebbea1bfecbbd8b8b4a1a3'.repeat(50));
    expect(decodeBytes(gbk, undefined, none)).toBe('关于发票的问题，请尽快回复。'.repeat(50));
    const sjis = hex('90bf8b818f9182c982c282a282c482cc82a896e282a28d8782ed82b9'.repeat(50));
    expect(decodeBytes(sjis, undefined, none)).toBe('請求書についてのお問い合わせ'.repeat(50));
    // Longer than the 64 KB sample, shifted by one byte: the sample must not cut a character in two.
    const long = Buffer.concat([
      Buffer.from('x'),
      hex('b9d8d3dab7a2c6b1b5c4cecacce2a3acc7ebbea1bfecbbd8b8b40a'.repeat(5000)),
    ]);
    expect(decodeBytes(long, undefined, none)).toBe('x' + '关于发票的问题，请尽快回复\n'.repeat(5000));
    const cp1251 = hex('c2eeeff0eef120efee20f1f7b8f2f320'.repeat(50));
    expect(decodeBytes(cp1251, undefined, none)).toBe('Вопрос по счёту '.repeat(50));
  });

  it('windows-1252 as the last resort', () => {
    expect(decodeBytes(hex('4dfc6c6c6572'), undefined, none)).toBe('Müller');
    expect(decodeBytes(hex('93 48 69 94 20 80'), undefined, none)).toBe('“Hi” €');
  });
});

describe('detectCharset', () => {
  it.each([
    // Subject + From name together, as charsetHints samples them.
    ['gbk', 'b9d8d3dab7a2c6b1b5c4cecacce2a3acc7ebbea1bfecbbd8b8b4 0a d5c5ceb0'],
    ['big5', 'c3f6a9f3b56fb2bcaabab0ddc344a141bdd0bac9a7d6a65ec2d0 0a b3afa46aa4e5'],
    ['shift_jis', '90bf8b818f9182c982c282a282c482cc82a896e282a28d8782ed82b9 0a 8e52936391be9859'],
    ['euc-kr', 'c3bbb1b8bcad20b0fcb7c320b9aec0c7b5e5b8b3b4cfb4d9 0a b1e8c3b6bcf6'],
    ['euc-jp', 'c0c1b5e1bdf1a4cba4c4a4a4a4c6a4cea4aacce4a4a4b9e7a4efa4bb 0a bbb3c5c4b2d6bbd2'],
    ['koi8-r', 'f7cfd0d2cfd320d0cf20d3dea3d4d5 0a e9d7c1ce20f0c5d4d2cfd7'],
    ['windows-1251', 'c2eeeff0eef120efee20f1f7b8f2f3 0a c8e2e0ed20cfe5f2f0eee2'],
    // Names alone: too short for chardet's statistics, the plausibility score decides.
    ['gbk', 'd5c5ceb0'],
    ['big5', 'b3afa46aa4e5'],
    ['shift_jis', '8e52936391be9859'],
    ['windows-1252', '4afc7267656e204dfc6c6c6572 20 80'],
    // Ambiguous (hangul and GB2312 hanzi share these bytes): the narrower everyday range, EUC-KR, wins.
    ['euc-kr', 'b1e8c3b6bcf6'],
  ])('%s: %s', (cs, bytes) => expect(detectCharset(hex(bytes))).toBe(cs));

  it('is undefined for 7-bit bytes', () => expect(detectCharset(Buffer.from('hello'))).toBeUndefined());
});

describe('cjkScore', () => {
  it('scores everyday characters high and other charsets read as CJK low', () => {
    expect(cjkScore(hex('d5c5ceb0'), 'gbk')).toBe(1);
    expect(cjkScore(hex('d5c5ceb0'), 'big5')).toBe(0);
    expect(cjkScore(hex('4dfc6c6c6572'), 'gbk')).toBe(0); // latin-1 Müller
    expect(cjkScore(hex('8e52936391be9859'), 'shift_jis')).toBe(1);
    expect(cjkScore(hex('c8e2e0ed20cfe5f2f0eee2'), 'big5')).toBeLessThan(0.5); // cp1251 Иван Петров
  });
});

describe('robustness', () => {
  const labels = [
    undefined,
    'utf-8',
    'gbk',
    'big5',
    'shift_jis',
    'euc-kr',
    'iso-2022-jp',
    'utf-7',
    'utf-16le',
    'koi8-r',
  ];

  it('never throws on random bytes, whatever the label', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(...labels),
        fc.constantFrom(...labels),
        (bytes, label, hint) => {
          const text = decodeBytes(bytes, label, { declared: hint ? [hint] : [], detected: 'gbk' });
          expect(typeof text).toBe('string');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('decodes a 5 MB body once, detecting on a 64 KB sample', () => {
    // charset.ts's detection sample.
    const SAMPLE = 64 * 1024;
    const utf8 = Buffer.from('Grüße aus Zürich. '.repeat(300_000), 'utf8');
    const gbk = Buffer.concat(
      Array(Math.ceil(5_000_000 / 28)).fill(hex('b9d8d3dab7a2c6b1b5c4cecacce2a3acc7ebbea1bfecbbd8b8b4')),
    );
    const latin1 = Buffer.from('Grüße aus Zürich. '.repeat(300_000), 'latin1');
    for (const [bytes, label] of [
      [utf8, 'utf-8'],
      [utf8, undefined],
      [gbk, 'gb2312'],
      [gbk, undefined],
      [latin1, 'iso-8859-1'],
      [latin1, undefined],
      [latin1, 'utf-8'],
    ] as const) {
      detector.mockClear();
      iconv.mockClear();
      const textDecoder = jest.spyOn(TextDecoder.prototype, 'decode');
      let text: string;
      let decoded: number[];
      try {
        text = decodeBytes(bytes, label, none);
        // Single-byte tables end in a UTF-16 TextDecoder too (one unit per byte), so these two see every decode.
        decoded = [...iconv.mock.calls, ...textDecoder.mock.calls].map(([b]) => (b as ArrayLike<number>).length);
      } finally {
        textDecoder.mockRestore();
      }
      expect(text.startsWith(bytes === gbk ? '关于发票' : 'Grüße')).toBe(true);
      for (const [sample] of detector.mock.calls) expect(sample.length).toBeLessThanOrEqual(SAMPLE);
      expect(decoded.filter((n) => n > SAMPLE)).toHaveLength(1);
    }
  });
});
