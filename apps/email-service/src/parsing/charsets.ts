/**
 * Node 20's TextDecoder('windows-1252') (also what the WHATWG label
 * "iso-8859-1" maps to) drops the bytes 0x80–0x9F instead of decoding them as
 * € ‚ ƒ „ … “ ” – — ™ and friends — exactly the characters Outlook mails are full
 * of. postal-mime decodes through the global TextDecoder, so the parser thread
 * installs a decoder that handles that one single-byte code page by table.
 */
const C1 = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d,
  0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d,
  0x017e, 0x0178,
];

export function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  const CHUNK = 8192;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    const end = Math.min(bytes.length, i + CHUNK);
    const codes = new Array<number>(end - i);
    for (let j = i; j < end; j++) {
      const b = bytes[j];
      codes[j - i] = b >= 0x80 && b < 0xa0 ? C1[b - 0x80] : b;
    }
    out += String.fromCharCode(...codes);
  }
  return out;
}

let installed = false;

export function installWindows1252Decoder(): void {
  if (installed) return;
  installed = true;
  const Native = globalThis.TextDecoder;
  const probe = new Native('windows-1252').decode(new Uint8Array([0x80]));
  if (probe === '€') return; // this runtime decodes it correctly
  class Decoder extends Native {
    private readonly cp1252: boolean;
    constructor(label?: string, options?: TextDecoderOptions) {
      super(label, options);
      this.cp1252 = this.encoding === 'windows-1252';
    }
    override decode(input?: AllowSharedBufferSource, options?: TextDecodeOptions): string {
      if (!this.cp1252 || input === undefined) return super.decode(input, options);
      const bytes = ArrayBuffer.isView(input)
        ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
        : new Uint8Array(input);
      return decodeWindows1252(bytes);
    }
  }
  globalThis.TextDecoder = Decoder as typeof TextDecoder;
}
