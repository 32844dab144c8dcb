import { parseStructuredHeader } from './header-text';
import { MAX_DEPTH, MAX_PARTS, parseHeaderBlock, parseTree, splitMultipart } from './tree';
import { expectNoBlowUp } from './linear-time.testing';

// The real Content-Type parser, observed: every part the tree builds reads its Content-Type once, so its
// calls count the parts worked on (a wall-clock bound would fail on a slow machine whatever the code did).
jest.mock('./header-text', () => {
  const actual = jest.requireActual<typeof import('./header-text')>('./header-text');
  return { ...actual, parseStructuredHeader: jest.fn(actual.parseStructuredHeader) };
});
const contentTypes = jest.mocked(parseStructuredHeader);

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');
const lf = (...lines: string[]) => Buffer.from(lines.join('\n'), 'latin1');
const str = (b: Buffer) => b.toString('latin1');

describe('parseHeaderBlock', () => {
  it('unfolds continuation lines, keeps order and ends at the first empty line (CRLF or LF)', () => {
    for (const mk of [crlf, lf]) {
      const raw = mk('Subject: a', '\tlong one', 'X-A:  1 ', 'x-a: 2', '', 'body', '', 'more');
      const { headers, bodyStart } = parseHeaderBlock(raw);
      expect(headers.map((h) => [h.name, str(h.value)])).toEqual([
        ['subject', 'a\tlong one'],
        ['x-a', '1'],
        ['x-a', '2'],
      ]);
      expect(str(raw.subarray(bodyStart))).toBe(mk('body', '', 'more').toString());
    }
  });

  it('treats a mail without an empty line as all headers and skips lines that are no field', () => {
    const raw = crlf('From someone Mon Jan 1 00:00:00 2024', 'Subject: x', 'garbage line', ' folded garbage', 'To: y');
    const { headers, bodyStart } = parseHeaderBlock(raw);
    expect(headers.map((h) => h.name)).toEqual(['subject', 'to']);
    expect(bodyStart).toBe(raw.length);
  });

  it('reads a body part that starts with a non-header line as all body', () => {
    const part = crlf('hello: no, this is text', 'more');
    expect(parseHeaderBlock(part, true).headers.map((h) => h.name)).toEqual(['hello']);
    const text = crlf('Hello there', 'Subject: not a header', '', 'x');
    expect(parseHeaderBlock(text, true)).toEqual({ headers: [], bodyStart: 0 });
    expect(parseHeaderBlock(text).headers.map((h) => h.name)).toEqual(['subject']);
  });

  it('keeps 8-bit header bytes untouched', () => {
    const raw = Buffer.concat([Buffer.from('Subject: '), Buffer.from([0xe4, 0xf6, 0xfc]), Buffer.from('\r\n\r\n')]);
    expect([...parseHeaderBlock(raw).headers[0].value]).toEqual([0xe4, 0xf6, 0xfc]);
  });
});

describe('splitMultipart', () => {
  it('gives the line break before a delimiter to the delimiter (RFC 2046 §5.1.1)', () => {
    const body = crlf(
      'preamble',
      '--b',
      '',
      'no newline at end',
      '--b  ',
      '',
      'ends in newline',
      '',
      '--b--',
      'epilogue',
    );
    const { parts, closed } = splitMultipart(body, 'b', 100);
    expect(closed).toBe(true);
    expect(parts.map(str)).toEqual(['\r\nno newline at end', '\r\nends in newline\r\n']);
  });

  it('ignores lines that only start with the boundary, accepts a delimiter at the very start and LF-only', () => {
    const body = lf('--b', 'X: 1', '', '--bx', '---b', ' --b', '--b\t', '', 'two', '--b--');
    const { parts } = splitMultipart(body, 'b', 100);
    expect(parts.map(str)).toEqual(['X: 1\n\n--bx\n---b\n --b', '\ntwo']);
  });

  it('runs the last part to the end when the close delimiter is missing', () => {
    const { parts, closed } = splitMultipart(crlf('--b', '', 'one', '--b', '', 'two', ''), 'b', 100);
    expect(closed).toBe(false);
    expect(parts.map(str)).toEqual(['\r\none', '\r\ntwo\r\n']);
  });

  it('stops at max parts', () => {
    const r = splitMultipart(crlf('--b', '', '1', '--b', '', '2', '--b', '', '3', '--b--'), 'b', 2);
    expect(r.parts.map(str)).toEqual(['\r\n1', '\r\n2']);
    expect(r.limited).toBe(true);
  });
});

describe('parseTree', () => {
  it('builds the tree with types, params and defaults', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      '',
      'plain',
      '--inner',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>x</p>',
      '--inner--',
      '--outer',
      'Content-Type: image/png???',
      '',
      'x',
      '--outer--',
    );
    const { root, warnings } = parseTree(raw);
    expect(warnings).toEqual([]);
    expect(root.contentType).toBe('multipart/mixed');
    const [alt, bad] = root.children!;
    expect(alt.children!.map((c) => [c.contentType, c.params.charset, str(c.body)])).toEqual([
      ['text/plain', undefined, 'plain'],
      ['text/html', 'utf-8', '<p>x</p>'],
    ]);
    expect(bad.contentType).toBe('application/octet-stream');
  });

  it('defaults parts of a digest to message/rfc822', () => {
    const raw = crlf('Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: x', '', 'y', '--d--');
    expect(parseTree(raw).root.children![0].contentType).toBe('message/rfc822');
  });

  it('shows a multipart without usable boundary as text', () => {
    const { root, warnings } = parseTree(crlf('Content-Type: multipart/mixed', '', 'hello'));
    expect(root.contentType).toBe('text/plain');
    expect(str(root.body)).toBe('hello');
    expect(warnings).toEqual(['multipart_without_parts']);
  });

  it('warns about an unterminated multipart', () => {
    const { root, warnings } = parseTree(lf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'x'));
    expect(str(root.children![0].body)).toBe('x');
    expect(warnings).toEqual(['unterminated_multipart']);
  });

  it('stops descending at the depth limit', () => {
    let raw = 'leaf';
    for (let i = 0; i < MAX_DEPTH + 10; i++)
      raw = `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${raw}\r\n--b${i}--`;
    const { root, warnings } = parseTree(Buffer.from(raw));
    let depth = 0;
    for (let p = root; p.children?.length; p = p.children[0]) depth++;
    expect(depth).toBe(MAX_DEPTH);
    expect(warnings).toEqual(['depth_limit']);
  });

  const multipart = (n: number, text = '') => {
    const parts = Array.from({ length: n }, (_, i) => `--b\r\n\r\n${i}${text}\r\n`).join('');
    return Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b--`);
  };

  it('keeps at most MAX_PARTS parts, and works on no part past them', () => {
    contentTypes.mockClear();
    const { root, warnings } = parseTree(multipart(10_000));
    expect(root.children!.length).toBe(MAX_PARTS - 1);
    expect(warnings).toEqual(['part_limit']);
    // The root and its MAX_PARTS - 1 children; none of the 8,000 parts beyond the limit.
    expect(contentTypes).toHaveBeenCalledTimes(MAX_PARTS);
  });

  it('splits up to MAX_PARTS parts in linear time', () => {
    // Parts of a line of text: rescanning what follows each part would cost enough to show.
    expectNoBlowUp((n) => multipart(n, ' lorem ipsum dolor sit amet'.repeat(8)), parseTree, MAX_PARTS - 1);
  });
});
