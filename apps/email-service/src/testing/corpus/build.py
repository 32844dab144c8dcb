#!/usr/bin/env python3
"""
Builds the email fidelity corpus: attachment sources (sources/), the mails built from them
(mails/NNN-short-name.eml) and what an agent should see for each mail (expected.json).

    python3 apps/email-service/src/testing/corpus/build.py           # (re)write everything
    python3 apps/email-service/src/testing/corpus/build.py --check   # fail if the committed files differ

Deterministic: fixed seeds (random.Random per file), fixed dates, explicit MIME boundaries,
zlib level 0 (stored blocks) and ZIP_STORED so no library version changes a byte. Python's
`email` package (EmailMessage / MIMEMultipart / email.encoders) is the independent encoder for
most mails; shapes it will not produce (encoded words inside quoted parameters, raw 8-bit
headers, RFC 2231 continuations, LF-only line endings, TNEF, uuencode, broken senders) are
written byte by byte below. Expected hashes come from the source files, never from parsing a mail.
See README.md.
"""

import base64
import binascii
import hashlib
import json
import os
import quopri
import random
import shutil
import struct
import sys
import tempfile
import zipfile
import zlib
from datetime import datetime, timedelta, timezone
from email import encoders, policy
from email.charset import QP, Charset
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
CRLF = b"\r\n"
TO = "support@wallet.test"
COMPAT_CRLF = policy.compat32.clone(linesep="\r\n")
SMTP = policy.SMTP

random.seed(20260301)  # nothing should use the global generator; this pins it if something does


# ---------------------------------------------------------------------------------------------
# Small encoders
# ---------------------------------------------------------------------------------------------


def crlf(text: str, charset: str = "utf-8") -> bytes:
    """A text as bytes in `charset` with CRLF line ends."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode(charset)


def b64(data: bytes, width: int = 76) -> bytes:
    s = base64.b64encode(data)
    return CRLF.join(s[i : i + width] for i in range(0, len(s), width))


def qp_text(text: str, charset: str = "utf-8") -> bytes:
    """Quoted-printable of a text body (line breaks are hard breaks, CRLF on the wire)."""
    data = text.replace("\r\n", "\n").encode(charset)
    return quopri.encodestring(data).replace(b"\n", CRLF)


def qp_binary(data: bytes) -> bytes:
    """
    Quoted-printable of binary data that survives decoding byte for byte: every CRLF in the data
    becomes a hard line break, lone CR / LF are =0D / =0A, spaces and tabs are always encoded.
    """
    pieces = []
    for piece in data.split(CRLF):
        enc = binascii.b2a_qp(piece, quotetabs=True, istext=False)
        assert b"\r" not in enc
        pieces.append(enc.replace(b"\n", CRLF))  # the only raw LFs left are soft breaks ("=\n")
    out = CRLF.join(pieces)
    assert qp_decode_strict(out) == data
    return out


def qp_decode_strict(enc: bytes) -> bytes:
    out = bytearray()
    lines = enc.split(CRLF)
    for i, line in enumerate(lines):
        soft = line.endswith(b"=")
        out += binascii.a2b_qp(line[:-1] if soft else line)
        if not soft and i < len(lines) - 1:
            out += CRLF
    return bytes(out)


def ew_b(s: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?B?{base64.b64encode(s.encode(charset)).decode()}?="


def ew_b_bytes(b: bytes, label: str) -> str:
    return f"=?{label}?B?{base64.b64encode(b).decode()}?="


def q_bytes(b: bytes) -> str:
    out = []
    for c in b:
        ch = chr(c)
        if ch.isascii() and (ch.isalnum() or ch in "!*+-/"):
            out.append(ch)
        elif ch == " ":
            out.append("_")
        else:
            out.append(f"={c:02X}")
    return "".join(out)


def ew_q(s: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?Q?{q_bytes(s.encode(charset))}?="


def rfc2231(s: str, charset: str = "UTF-8") -> str:
    return f"{charset}''" + quote(s.encode(charset.lower()), safe="!#$&+-.^_`|~")


def rfc2231_chunks(s: str, size: int) -> list:
    """Percent-encoded pieces of at most `size` characters, never splitting a %XX escape."""
    enc = quote(s.encode("utf-8"), safe="!#$&+-.^_`|~")
    chunks, cur, i = [], "", 0
    while i < len(enc):
        tok = enc[i : i + 3] if enc[i] == "%" else enc[i]
        if len(cur) + len(tok) > size:
            chunks.append(cur)
            cur = ""
        cur += tok
        i += len(tok)
    chunks.append(cur)
    return chunks


def date(n: int, tz_hours: int = 1, minute: int = 0) -> str:
    """An RFC 5322 date: day n of March 2026 (n may exceed 31), at a fixed time in the given zone."""
    tz = timezone(timedelta(hours=tz_hours))
    d = datetime(2026, 3, 1, 8, 0, tzinfo=tz) + timedelta(days=n % 28, hours=n // 28, minutes=minute + n * 7 % 53)
    return d.strftime("%a, %d %b %Y %H:%M:%S %z")


# ---------------------------------------------------------------------------------------------
# Raw MIME writer: for shapes Python's email package will not produce
# ---------------------------------------------------------------------------------------------


def head(*pairs) -> bytes:
    """Header lines; a value may be bytes (raw 8-bit) or str (ASCII, may carry its own folding)."""
    out = b""
    for name, value in pairs:
        v = value if isinstance(value, bytes) else value.encode("ascii")
        out += name.encode("ascii") + b": " + v + CRLF
    return out


def part(headers, body: bytes, eol: bytes = CRLF) -> bytes:
    h = head(*headers)
    if eol != CRLF:
        h = h.replace(CRLF, eol)
    return h + eol + body


def multipart(boundary: str, parts, preamble: bytes = b"", epilogue: bytes = b"", eol: bytes = CRLF) -> bytes:
    b = boundary.encode("ascii")
    out = preamble + eol if preamble else b""
    for p in parts:
        out += b"--" + b + eol + p + eol
    return out + b"--" + b + b"--" + eol + epilogue


def message(headers, body: bytes) -> bytes:
    return head(*headers) + CRLF + body


# ---------------------------------------------------------------------------------------------
# Python email helpers (the independent encoder)
# ---------------------------------------------------------------------------------------------


def py_bytes(msg, pol=SMTP) -> bytes:
    """Generated bytes; every multipart must have had its boundary set (no random ones)."""
    for p in msg.walk():
        if p.get_content_maintype() == "multipart":
            assert p.get_boundary(), "boundary not set"
    return msg.as_bytes(policy=pol)


def drop_mime_version(*parts):
    """MIMEBase puts MIME-Version on every part; real mailers put it on the message only."""
    for p in parts:
        del p["MIME-Version"]


def compat_attachment(data: bytes, maintype: str, subtype: str, **params) -> MIMEBase:
    p = MIMEBase(maintype, subtype, **params)
    p.set_payload(data)
    encoders.encode_base64(p)
    drop_mime_version(p)
    return p


def qp_mime_text(text: str, subtype: str = "plain", charset: str = "utf-8") -> MIMEText:
    cs = Charset(charset)
    cs.body_encoding = QP
    p = MIMEText(text, subtype, cs)
    drop_mime_version(p)
    return p


# ---------------------------------------------------------------------------------------------
# Source files
# ---------------------------------------------------------------------------------------------


class Source:
    def __init__(self, name: str, data: bytes):
        self.name, self.data = name, data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.size = len(data)


class Corpus:
    def __init__(self, out: str):
        self.out = out
        self.sources = {}
        self.mails = []
        os.makedirs(os.path.join(out, "sources"), exist_ok=True)
        os.makedirs(os.path.join(out, "mails"), exist_ok=True)

    def src(self, name: str, data: bytes) -> Source:
        assert name not in self.sources, name
        s = Source(name, data)
        self.sources[name] = s
        with open(os.path.join(self.out, "sources", name), "wb") as f:
            f.write(data)
        return s

    def add(self, short, shape, raw, sender, subject, attachments=(), suppressed=None, body=None, same=None):
        n = len(self.mails) + 1
        file = f"{n:03d}-{short}.eml"
        address, name, header = sender
        self.mails.append(
            {
                "file": file,
                "shape": shape,
                "sender": {"address": address, "name": name, "header": header},
                "subject": subject,
                "attachments": [{"filename": fn, "sha256": s.sha256, "size": s.size} for fn, s in attachments],
                "suppressed": suppressed,
                "bodyIncludes": body,
                "sameMessageIdAs": same,
            }
        )
        with open(os.path.join(self.out, "mails", file), "wb") as f:
            f.write(raw)
        return file


def att(filename: str, source: Source):
    return (filename, source)


def pdf(title: str, seed: int, payload: bytes = b"") -> bytes:
    """A small valid PDF (CRLF line ends) with a page of text and a binary stream object."""
    rnd = random.Random(seed)
    binary = rnd.randbytes(480 + seed % 97) + payload
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET\r\nBT /F1 11 Tf 72 690 Td (Reference {seed:06d}) Tj ET".encode("ascii")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\r\nstream\r\n" % len(content) + content + b"\r\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\r\nstream\r\n" % len(binary) + binary + b"\r\nendstream",
    ]
    out = b"%PDF-1.4\r\n%\xe2\xe3\xcf\xd3\r\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\r\n" % i + o + b"\r\nendobj\r\n"
    xref = len(out)
    out += b"xref\r\n0 %d\r\n0000000000 65535 f\r\n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n\r\n" % off
    out += b"trailer\r\n<< /Size %d /Root 1 0 R >>\r\nstartxref\r\n%d\r\n%%%%EOF\r\n" % (len(objs) + 1, xref)
    return out


def png(width: int, height: int, seed: int) -> bytes:
    rnd = random.Random(seed)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + rnd.randbytes(width * 3) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 0))  # stored blocks: the same bytes with any zlib
        + chunk(b"IEND", b"")
    )


GIF_1PX = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def jpeg(seed: int, n: int = 1500) -> bytes:
    """JPEG-shaped bytes (SOI, JFIF APP0, EXIF-ish APP1, a comment, entropy-like data, EOI)."""
    rnd = random.Random(seed)
    app0 = b"JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"
    app1 = b"Exif\x00\x00MM\x00*" + rnd.randbytes(40)
    com = b"Samsung SM-S921B"
    data = bytes(b if b != 0xFF else 0xFE for b in rnd.randbytes(n))
    seg = lambda m, d: b"\xff" + bytes([m]) + struct.pack(">H", len(d) + 2) + d
    return b"\xff\xd8" + seg(0xE0, app0) + seg(0xE1, app1) + seg(0xFE, com) + b"\xff\xda" + data + b"\xff\xd9"


def heic(seed: int, n: int = 2200) -> bytes:
    rnd = random.Random(seed)
    ftyp = b"ftyp" + b"heic" + struct.pack(">I", 0) + b"mif1heicmiaf"
    mdat = b"mdat" + rnd.randbytes(n)
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(mdat) + 4) + mdat


def zip_doc(files) -> bytes:
    buf = __import__("io").BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in files:
            zi = zipfile.ZipInfo(name, date_time=(2026, 3, 1, 9, 30, 0))
            zi.create_system = 0
            zi.external_attr = 0
            zi.compress_type = zipfile.ZIP_STORED
            z.writestr(zi, data)
    return buf.getvalue()


def docx(text: str) -> bytes:
    ct = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    doc = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
    )
    return zip_doc([("[Content_Types].xml", ct.encode()), ("_rels/.rels", rels.encode()), ("word/document.xml", doc.encode())])


def xlsx(rows) -> bytes:
    cells = "".join(
        f'<row r="{i}">' + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in r) + "</row>" for i, r in enumerate(rows, 1)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{cells}</sheetData></worksheet>"
    )
    return zip_doc([("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'), ("xl/worksheets/sheet1.xml", sheet.encode())])


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armored(kind: str, seed: int, n: int, trailing_newline: bool, comment: str = "") -> bytes:
    """ASCII armor (RFC 4880 §6.2) of random packet bytes, CRLF line ends as on the wire."""
    rnd = random.Random(seed)
    packet = rnd.randbytes(n)
    lines = [f"-----BEGIN PGP {kind}-----"]
    if comment:
        lines.append(comment)
    lines.append("")
    enc = base64.b64encode(packet).decode()
    lines += [enc[i : i + 64] for i in range(0, len(enc), 64)]
    lines.append("=" + base64.b64encode(struct.pack(">I", crc24(packet))[1:]).decode())
    lines.append(f"-----END PGP {kind}-----")
    return ("\r\n".join(lines) + ("\r\n" if trailing_newline else "")).encode("ascii")


def der_p7s(seed: int, n: int = 1400) -> bytes:
    rnd = random.Random(seed)
    body = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02" + b"\xa0\x82" + struct.pack(">H", n) + rnd.randbytes(n)
    return b"\x30\x82" + struct.pack(">H", len(body)) + body


# TNEF ([MS-OXTNEF]) -------------------------------------------------------------------------

PT_LONG, PT_STRING8, PT_UNICODE, PT_BINARY = 0x0003, 0x001E, 0x001F, 0x0102


def tnef_attr(level: int, attr_id: int, data: bytes) -> bytes:
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def mapi_props(props) -> bytes:
    out = struct.pack("<I", len(props))
    for ptype, pid, value in props:
        out += struct.pack("<HH", ptype, pid)
        if ptype in (PT_STRING8, PT_UNICODE, PT_BINARY):
            out += struct.pack("<II", 1, len(value)) + value + b"\x00" * ((4 - len(value) % 4) % 4)
        elif ptype == PT_LONG:
            out += struct.pack("<i", value)
        else:
            raise ValueError(ptype)
    return out


def dtr(y, mo, d, h, mi, s) -> bytes:
    return struct.pack("<7H", y, mo, d, h, mi, s, datetime(y, mo, d).isoweekday() % 7)


def tnef(files, key: int, unicode_names: bool = False) -> bytes:
    """files: (title 8.3, long name, mime type, bytes)."""
    out = struct.pack("<IH", 0x223E9F78, key)
    out += tnef_attr(1, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += tnef_attr(1, 0x00069007, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += tnef_attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")  # attMessageClass
    out += tnef_attr(1, 0x00038005, dtr(2026, 3, 3, 9, 41, 12))  # attDateSent
    for title, long_name, mime, data in files:
        ext = long_name[long_name.rfind(".") :].encode("ascii")
        out += tnef_attr(2, 0x00069002, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0))  # attAttachRenddata
        out += tnef_attr(2, 0x00018010, title.encode("cp1252") + b"\x00")  # attAttachTitle
        out += tnef_attr(2, 0x00038013, dtr(2026, 3, 2, 17, 5, 44))  # attAttachModifyDate
        out += tnef_attr(2, 0x0006800F, data)  # attAttachData
        long_value = (long_name + "\x00").encode("utf-16-le") if unicode_names else long_name.encode("cp1252") + b"\x00"
        props = [
            (PT_LONG, 0x3705, 1),  # PR_ATTACH_METHOD: by value
            (PT_STRING8, 0x3703, ext + b"\x00"),  # PR_ATTACH_EXTENSION
            (PT_UNICODE if unicode_names else PT_STRING8, 0x3707, long_value),  # PR_ATTACH_LONG_FILENAME
            (PT_STRING8, 0x370E, mime.encode("ascii") + b"\x00"),  # PR_ATTACH_MIME_TAG
            (PT_LONG, 0x370B, -1),  # PR_RENDERING_POSITION
        ]
        out += tnef_attr(2, 0x00069005, mapi_props(props))  # attAttachment
    return out


def uu_block(name: str, data: bytes, eol: bytes = CRLF) -> bytes:
    lines = [b"begin 644 " + name.encode("ascii")]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i : i + 45], backtick=True).rstrip(b"\n"))
    lines += [b"`", b"end"]
    return eol.join(lines) + eol


# ---------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------


def build(out: str):
    c = Corpus(out)
    S = c.src

    # Sources ---------------------------------------------------------------------------------
    pdf_offer = S("Übersicht Angebot 2026.pdf", pdf("Angebot Q2 2026", 101))
    docx_contract = S("Vertragsentwurf März 2026 – final überarbeitet.docx", docx("Vertragsentwurf, Stand März 2026"))
    png_image001 = S("image001.png", png(24, 8, 102))
    pdf_quarterly = S("Quarterly Report 2026 - Final.pdf", pdf("Quarterly Report 2026", 103))
    txt_meeting = S("meeting-notes-march-2026.txt", crlf("Meeting notes, 2 March 2026\nAttendees: MW, JS, AK\n\n1. Q1 numbers\n2. Card reader rollout\n"))
    winmail_002 = S("winmail-outlook-rtf.dat", tnef([("QUARTE~1.PDF", pdf_quarterly.name, "application/pdf", pdf_quarterly.data), ("MEETIN~1.TXT", txt_meeting.name, "text/plain", txt_meeting.data)], key=0x5A3C))
    pdf_transfer = S("Überweisungsbeleg März.pdf", pdf("Ueberweisungsbeleg Maerz", 104))
    png_site = S("Lageplan Halle 3.png", png(32, 16, 105))
    winmail_003 = S("winmail-exchange-unicode.dat", tnef([("BERWEI~1.PDF", pdf_transfer.name, "application/pdf", pdf_transfer.data), ("LAGEPL~1.PNG", png_site.name, "image/png", png_site.data)], key=0x1B77, unicode_names=True))
    pdf_contrat = S("Contrat signé 2026.pdf", pdf("Contrat signe 2026", 106))
    png_screenshot = S("Bildschirmfoto 2026-03-03 um 10.15.42.png", png(40, 12, 107))
    pdf_invoice_gmail = S("Invoice-2026-0042.pdf", pdf("Invoice 2026-0042", 108))
    png_gmail = S("error-screenshot.png", png(30, 10, 109))
    pdf_cyr = S("Договор аренды.pdf", pdf("Dogovor arendy", 110))
    pdf_cjk = S("請求書_2026年3月.pdf", pdf("Seikyusho 2026-03", 111))
    xlsx_costs = S("Kostenübersicht_Q1.xlsx", xlsx([["Posten", "Betrag"], ["Miete", "1200"], ["Strom", "310"]]))
    pdf_cyr_long = S("Справка о доходах и удержаниях за 2025 год.pdf", pdf("Spravka 2025", 112))
    txt_protokoll_long = S("Protokoll der Mitgliederversammlung vom 14. Februar 2026 (Entwurf).txt", crlf("Protokoll (Entwurf)\nTOP 1: Begruessung\nTOP 2: Kassenbericht") )
    pdf_lieferschein = S("Lieferschein 4711.pdf", pdf("Lieferschein 4711", 113))
    heic_photo = S("IMG_4123.HEIC", heic(114))
    jpg_android = S("20260312_101512.jpg", jpeg(115))
    pdf_factura = S("Factura 2026-117.pdf", pdf("Factura 2026-117", 116))
    csv_php = S("anhang.csv", crlf("Bestellnr;Artikel;Menge\n100231;Kartenleser KL-2;2\n100232;Ladekabel;5\n"))
    png_php = S("foto.png", png(16, 16, 117))
    pdf_phpmailer = S("Bestellung_100234.pdf", pdf("Bestellung 100234", 118))
    sig_noeol = S("signature-noeol.asc", armored("SIGNATURE", 119, 566, trailing_newline=False))
    sig_eol = S("signature-eol.asc", armored("SIGNATURE", 120, 119, trailing_newline=True))
    pgp_key = S("OpenPGP_0x3F1A9C2E5B7D4061.asc", armored("PUBLIC KEY BLOCK", 121, 820, trailing_newline=True))
    p7s_outlook = S("smime-outlook.p7s", der_p7s(122))
    p7s_gateway = S("smime-gateway.p7s", der_p7s(123, 1100))
    ics = S("invite.ics", crlf(
        "BEGIN:VCALENDAR\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\nVERSION:2.0\nCALSCALE:GREGORIAN\nMETHOD:REQUEST\n"
        "BEGIN:VEVENT\nDTSTART:20260312T130000Z\nDTEND:20260312T140000Z\nDTSTAMP:20260305T101500Z\n"
        "ORGANIZER;CN=Nora Lindgren:mailto:nora.lindgren@gmail.example\nUID:5k2m9q1r7t3v8x0z4b6d@google.example\n"
        "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=support@wallet.test;X-NUM-GUESTS=0:mailto:support@wallet.test\n"
        "DESCRIPTION:Quartalsreview Zahlungsabwicklung\\, Agenda im Dokument.\nLOCATION:Raum Elbe\nSEQUENCE:0\nSTATUS:CONFIRMED\n"
        "SUMMARY:Quartalsreview Zahlungsabwicklung\nTRANSP:OPAQUE\nEND:VEVENT\nEND:VCALENDAR\n"))
    ics_outlook = S("meeting-request-outlook.ics", crlf(
        "BEGIN:VCALENDAR\nMETHOD:REQUEST\nPRODID:Microsoft Exchange Server 2010\nVERSION:2.0\n"
        "BEGIN:VEVENT\nORGANIZER;CN=\"Kowalski, Piotr\":mailto:piotr.kowalski@contoso-pl.example\n"
        "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=support@wallet.test:mailto:support@wallet.test\n"
        "SUMMARY;LANGUAGE=pl-PL:Spotkanie: integracja terminali\nDTSTART;TZID=Central European Standard Time:20260318T100000\n"
        "DTEND;TZID=Central European Standard Time:20260318T110000\nUID:040000008200E00074C5B7101A82E00800000000B0C1D2E3F4A5DA01000000000000000010000000\n"
        "DTSTAMP:20260306T091500Z\nLOCATION;LANGUAGE=pl-PL:Microsoft Teams\nEND:VEVENT\nEND:VCALENDAR\n"))
    cyr_invoice = S("Счёт на оплату №1547.pdf", pdf("Schet 1547", 124))
    sjis_estimate = S("見積書_2026年度.xlsx", xlsx([["品目", "数量"], ["端末", "3"]]))
    pdf_qp = S("Vertrag-Kartenterminal.pdf", pdf("Vertrag Kartenterminal", 125, payload=b"lone\rcr lone\nlf crlf\r\ntrailing space \r\ntab\t\r\n=3D=\x00NUL.\r\n.\r\nFrom here\r\n" + bytes(range(256))))
    txt_7bit = S("notes.txt", b"Terminal ID: T-4471\r\nError: E203 (card read timeout)\r\nSeen on: 3 terminals\r\nLast seen: 05.03.2026 17:42")
    txt_8bit = S("Fehlerprotokoll.txt", crlf("Fehlerprotokoll Kassensystem\nGerät: Kasse 2 (Filiale Köln-Süd)\nMeldung: Zahlungsabbruch nach PIN-Eingabe\nHäufigkeit: ungefähr 5× pro Tag").rstrip(b"\r\n"))
    bin_uu_part = S("terminal-dump.bin", random.Random(126).randbytes(700))
    jpg_uu = S("kvittung.jpg", jpeg(127, 400))
    empty = S("empty.txt", b"")
    pdf_winpath = S("report.pdf", pdf("Report", 128))
    xlsx_export = S("export.xlsx", xlsx([["id", "amount"]] + [[str(i), str(i * 7 % 100)] for i in range(1, 60)]))
    pdf_kontoauszug = S("Kontoauszug_2026_02.pdf", pdf("Kontoauszug Februar", 129))
    bin_firmware = S("kl2-diagnostics.bin", random.Random(130).randbytes(3000))
    pdf_nested_inner = S("Rechnung_2026-0311.pdf", pdf("Rechnung 2026-0311", 131))
    pdf_nested_alt = S("Kartenleser-Anleitung.pdf", pdf("Anleitung KL-2", 132))
    gif_logo = S("logo.gif", GIF_1PX)
    pdf_scanner = S("20260315104512.pdf", pdf("Scan", 133))
    txt_noeol = S("log-excerpt.txt", b"2026-03-16T08:01:12Z WARN card reader reconnect\r\n2026-03-16T08:01:13Z ERROR handshake failed")
    pdf_sendgrid = S("Rechnung_RE-2026-0456.pdf", pdf("Rechnung RE-2026-0456", 134))
    txt_readme = S("readme.txt", b"Steps to reproduce:\r\n1. Open the app\r\n2. Tap Pay\r\n3. Nothing happens")
    pdf_outlook12 = S("Bestellbestätigung 2026.pdf", pdf("Bestellbestaetigung", 135))

    # 001 Outlook / Exchange: HTML + text, inline image (related, cid), encoded-word file names -------
    ob = "AM0PR07MB43219F0E6D2B1C8A5E4D3C2BA1B0AM0PR07MB4321eurp_"
    cid = "image001.png@01DA6C2B.5E7F1A30"
    text = "Hallo Support-Team,\n\nanbei das überarbeitete Angebot und der Vertragsentwurf.\nBitte um kurze Rückmeldung bis Freitag.\n\nMit freundlichen Grüßen\nSabine Hoffmann\nContoso Logistik GmbH\n"
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        '<style><!-- p.MsoNormal {margin:0cm;font-size:11.0pt;font-family:"Calibri",sans-serif;} --></style></head>'
        '<body lang="DE" link="#0563C1"><div class="WordSection1"><p class="MsoNormal">Hallo Support-Team,</p>'
        '<p class="MsoNormal">anbei das überarbeitete Angebot und der Vertragsentwurf.<br>Bitte um kurze Rückmeldung bis Freitag.</p>'
        f'<p class="MsoNormal">Mit freundlichen Grüßen<br>Sabine Hoffmann</p><p class="MsoNormal"><img width="24" height="8" id="Bild_x0020_1" src="cid:{cid}" alt="Contoso"></p></div></body></html>'
    )
    offer_ew = ew_b(pdf_offer.name)
    # Outlook folds a long encoded-word file name inside the quoted string.
    dn = docx_contract.name
    contract_ew = ew_b(dn[:22]) + "\r\n\t" + ew_b(dn[22:])
    alt = multipart(f"_000_{ob}", [
        part([("Content-Type", 'text/plain; charset="iso-8859-1"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_text(text, "iso-8859-1")),
        part([("Content-Type", 'text/html; charset="iso-8859-1"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_text(html, "iso-8859-1")),
    ])
    cdates = 'creation-date="Mon, 02 Mar 2026 09:14:30 GMT";\r\n\tmodification-date="Mon, 02 Mar 2026 09:14:30 GMT"'
    related = multipart(f"_005_{ob}", [
        part([("Content-Type", f'multipart/alternative;\r\n\tboundary="_000_{ob}"')], alt),
        part([
            ("Content-Type", 'image/png; name="image001.png"'), ("Content-Description", "image001.png"),
            ("Content-Disposition", f'inline; filename="image001.png"; size={png_image001.size};\r\n\t{cdates}'),
            ("Content-ID", f"<{cid}>"), ("Content-Transfer-Encoding", "base64"),
        ], b64(png_image001.data)),
    ])
    body = multipart(f"_006_{ob}", [
        part([("Content-Type", f'multipart/related;\r\n\tboundary="_005_{ob}";\r\n\ttype="multipart/alternative"')], related),
        part([
            ("Content-Type", f'application/pdf; name="{offer_ew}"'), ("Content-Description", offer_ew),
            ("Content-Disposition", f'attachment;\r\n\tfilename="{offer_ew}"; size={pdf_offer.size};\r\n\t{cdates}'),
            ("Content-Transfer-Encoding", "base64"),
        ], b64(pdf_offer.data)),
        part([
            ("Content-Type", f'application/vnd.openxmlformats-officedocument.wordprocessingml.document;\r\n\tname="{contract_ew}"'),
            ("Content-Description", contract_ew),
            ("Content-Disposition", f'attachment;\r\n\tfilename="{contract_ew}";\r\n\tsize={docx_contract.size}; {cdates}'),
            ("Content-Transfer-Encoding", "base64"),
        ], b64(docx_contract.data)),
    ])
    subj = "Angebot und Übersicht für Q2"
    raw = message([
        ("Received", "from AM0PR07MB4321.eurprd07.prod.outlook.com (2603:10a6:208:6c::21) by\r\n AM0PR07MB4321.eurprd07.prod.outlook.com with HTTPS; " + date(1, 0)),
        ("From", '"Hoffmann, Sabine" <sabine.hoffmann@contoso-logistik.de>'),
        ("To", '"support@wallet.test" <support@wallet.test>'),
        ("Subject", ew_q(subj, "iso-8859-1")), ("Thread-Topic", ew_q(subj, "iso-8859-1")),
        ("Thread-Index", "AdqL3k2m9Jx1Qk7dTp2wVnXcYh5uRA=="), ("Date", date(1, 0)),
        ("Message-ID", "<AM0PR07MB43219F0E6D2B1C8A5E4D3C2BA1B0@AM0PR07MB4321.eurprd07.prod.outlook.com>"),
        ("Accept-Language", "de-DE, en-US"), ("Content-Language", "de-DE"),
        ("X-MS-Has-Attach", "yes"), ("X-MS-TNEF-Correlator", ""),
        ("x-ms-exchange-organization-authas", "Internal"),
        ("Content-Type", f'multipart/mixed;\r\n\tboundary="_006_{ob}"'), ("MIME-Version", "1.0"),
    ], body)
    c.add("outlook-html-inline-image", "Outlook/Exchange 365: mixed > related > alternative (iso-8859-1 QP), inline image001.png by cid, attachments named with utf-8 encoded words inside quoted name=/filename= (one folded over two words)",
          raw, ("sabine.hoffmann@contoso-logistik.de", "Hoffmann, Sabine", "from"), subj,
          [att("image001.png", png_image001), att(pdf_offer.name, pdf_offer), att(docx_contract.name, docx_contract)],
          body="anbei das überarbeitete Angebot")

    # 002 Outlook RTF mail: winmail.dat (TNEF, PT_STRING8 long names) ---------------------------------
    bnd = "_000_DB9PR02MB7788C1A2B3D4E5F6A7B8C9D0DB9PR02MB7788eurp_"
    body = multipart(bnd, [
        part([("Content-Type", 'text/plain; charset="us-ascii"'), ("Content-Transfer-Encoding", "quoted-printable")],
             qp_text("Hi team,\n\nPlease find the quarterly report and my meeting notes attached.\n\nKind regards,\nMark Whitfield\nFabrikam Industries\n", "us-ascii")),
        part([("Content-Type", 'application/ms-tnef; name="winmail.dat"'), ("Content-Disposition", 'attachment; filename="winmail.dat"'), ("Content-Transfer-Encoding", "base64")], b64(winmail_002.data)),
    ])
    raw = message([
        ("From", "Mark Whitfield <m.whitfield@fabrikam-industries.co.uk>"), ("To", "Wallet Support <support@wallet.test>"),
        ("Subject", "Q1 report and meeting notes"), ("Thread-Topic", "Q1 report and meeting notes"),
        ("Thread-Index", "AdqM7Yc1mQ0b4n9bRkS4l2mC8y3VZg=="), ("Date", date(2, 0)),
        ("Message-ID", "<DB9PR02MB7788C1A2B3D4E5F6A7B8C9D0@DB9PR02MB7788.eurprd02.prod.outlook.com>"),
        ("Accept-Language", "en-GB, en-US"), ("Content-Language", "en-GB"), ("X-MS-Has-Attach", "yes"),
        ("X-MS-TNEF-Correlator", "<DB9PR02MB7788C1A2B3D4E5F6A7B8C9D0@DB9PR02MB7788.eurprd02.prod.outlook.com>"),
        ("X-Mailer", "Microsoft Outlook 16.0"),
        ("Content-Type", f'multipart/mixed;\r\n\tboundary="{bnd}"'), ("MIME-Version", "1.0"),
    ], body)
    c.add("outlook-rtf-tnef", "Outlook rich-text (RTF) mail: application/ms-tnef winmail.dat with two files, long names as PT_STRING8 PR_ATTACH_LONG_FILENAME, 8.3 titles",
          raw, ("m.whitfield@fabrikam-industries.co.uk", "Mark Whitfield", "from"), "Q1 report and meeting notes",
          [att("winmail.dat", winmail_002), att(pdf_quarterly.name, pdf_quarterly), att(txt_meeting.name, txt_meeting)],
          body="Please find the quarterly report")

    # 003 Exchange: vnd.ms-tnef, PT_UNICODE long names -------------------------------------------------
    bnd = "_002_VI1PR08MB5566AABBCCDDEEFF00112233VI1PR08MB5566eurp_"
    body = multipart(bnd, [
        part([("Content-Type", 'text/plain; charset="utf-8"'), ("Content-Transfer-Encoding", "base64")],
             b64(crlf("Guten Tag,\n\nim Anhang der Überweisungsbeleg und der Lageplan für die Anlieferung.\n\nGruß\nT. Albrecht\n"))),
        part([("Content-Type", 'application/vnd.ms-tnef; name="winmail.dat"'), ("Content-Disposition", 'attachment; filename="winmail.dat"'), ("Content-Transfer-Encoding", "base64")], b64(winmail_003.data)),
    ])
    raw = message([
        ("From", "\"Albrecht, Tobias\" <tobias.albrecht@spedition-nord.example>"), ("To", "<support@wallet.test>"),
        ("Subject", ew_b("Überweisungsbeleg und Lageplan")), ("Date", date(3, 1)),
        ("Message-ID", "<VI1PR08MB5566AABBCCDDEEFF00112233@VI1PR08MB5566.eurprd08.prod.outlook.com>"),
        ("X-MS-Has-Attach", "yes"), ("X-MS-Exchange-Organization-SCL", "-1"),
        ("X-MS-TNEF-Correlator", "<VI1PR08MB5566AABBCCDDEEFF00112233@VI1PR08MB5566.eurprd08.prod.outlook.com>"),
        ("Content-Type", f'multipart/mixed;\r\n\tboundary="{bnd}"'), ("MIME-Version", "1.0"),
    ], body)
    c.add("exchange-tnef-unicode", "Exchange on-premises: application/vnd.ms-tnef winmail.dat, PT_UNICODE (UTF-16LE) long file names with umlauts",
          raw, ("tobias.albrecht@spedition-nord.example", "Albrecht, Tobias", "from"), "Überweisungsbeleg und Lageplan",
          [att("winmail.dat", winmail_003), att(pdf_transfer.name, pdf_transfer), att(png_site.name, png_site)],
          body="im Anhang der Überweisungsbeleg")

    # 004 Apple Mail: QP text, PDF with Content-Disposition inline + filename, trailing text part ---------
    bnd = "Apple-Mail=_3F2A1C8E-5B7D-4E9A-8C1F-2D6B0A9E7C44"
    body = multipart(bnd, [
        part([("Content-Transfer-Encoding", "quoted-printable"), ("Content-Type", "text/plain;\r\n\tcharset=utf-8")],
             qp_text("Bonjour,\n\nVoici le contrat signé, comme convenu au téléphone.\n")),
        part([("Content-Disposition", f"inline;\r\n\tfilename*={rfc2231(pdf_contrat.name, 'utf-8')}"),
              ("Content-Type", f'application/pdf;\r\n\tx-unix-mode=0644;\r\n\tname="{ew_q(pdf_contrat.name)}"'),
              ("Content-Transfer-Encoding", "base64")], b64(pdf_contrat.data)),
        part([("Content-Transfer-Encoding", "7bit"), ("Content-Type", "text/plain;\r\n\tcharset=us-ascii")], crlf("\n\nMerci,\nClaire\n")),
    ])
    raw = message([
        ("From", "Claire Dubois <claire.dubois@icloud.example>"),
        ("Content-Type", f'multipart/mixed;\r\n\tboundary="{bnd}"'),
        ("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))"),
        ("Subject", ew_q("Contrat signé")), ("Date", date(4, 1)),
        ("Message-Id", "<8C2E4F1A-7B3D-4A5E-9F6C-1D2B3A4C5E6F@icloud.example>"), ("To", TO),
        ("X-Mailer", "Apple Mail (2.3774.600.62)"),
    ], body)
    c.add("apple-mail-inline-pdf", "Apple Mail (macOS): Apple-Mail=_ boundary, QP text, PDF part with Content-Disposition inline + RFC 2231 filename and x-unix-mode, text part after the attachment",
          raw, ("claire.dubois@icloud.example", "Claire Dubois", "from"), "Contrat signé", [att(pdf_contrat.name, pdf_contrat)], body="Voici le contrat signé")

    # 005 Apple Mail HTML: alternative > [text, mixed > [html, image inline, html]] --------------------
    b1, b2 = "Apple-Mail=_5D0C7E1B-8A2F-4B3C-9E6D-7F1A2B3C4D5E", "Apple-Mail=_9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C6D"
    fname = png_screenshot.name
    mixed = multipart(b2, [
        part([("Content-Transfer-Encoding", "quoted-printable"), ("Content-Type", "text/html;\r\n\tcharset=utf-8")],
             qp_text('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body style="overflow-wrap: break-word;">Hier der Screenshot vom Fehler in der App:<br><br></body></html>')),
        part([("Content-Disposition", f'inline;\r\n\tfilename="{fname}"'), ("Content-Type", f'image/png;\r\n\tx-unix-mode=0644;\r\n\tname="{fname}"'), ("Content-Transfer-Encoding", "base64")], b64(png_screenshot.data)),
        part([("Content-Transfer-Encoding", "7bit"), ("Content-Type", "text/html;\r\n\tcharset=us-ascii")], b'<html><head><meta http-equiv="content-type" content="text/html; charset=us-ascii"></head><body><br>Viele Gruesse<br>Jonas</body></html>'),
    ])
    body = multipart(b1, [
        part([("Content-Transfer-Encoding", "quoted-printable"), ("Content-Type", "text/plain;\r\n\tcharset=utf-8")], qp_text("Hier der Screenshot vom Fehler in der App:\n\n\nViele Gruesse\nJonas\n")),
        part([("Content-Type", f'multipart/mixed;\r\n\tboundary="{b2}"')], mixed),
    ])
    raw = message([
        ("From", "Jonas Petersen <jonas.petersen@mac.example>"), ("Content-Type", f'multipart/alternative;\r\n\tboundary="{b1}"'),
        ("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))"), ("Subject", "App zeigt Fehler 0x80 beim Bezahlen"),
        ("Date", date(5, 1)), ("Message-Id", "<5D0C7E1B-8A2F-4B3C-9E6D-7F1A2B3C4D5E@mac.example>"), ("To", TO), ("X-Mailer", "Apple Mail (2.3774.600.62)"),
    ], body)
    c.add("apple-mail-image-in-html", "Apple Mail HTML with a pasted image: alternative > [text/plain, mixed > [html, inline image/png with filename, html]]",
          raw, ("jonas.petersen@mac.example", "Jonas Petersen", "from"), "App zeigt Fehler 0x80 beim Bezahlen", [att(fname, png_screenshot)], body="Hier der Screenshot vom Fehler")

    # 006 Gmail (Python email): alternative + attachments, 000000000000 boundaries ----------------------
    m = EmailMessage(policy=SMTP)
    m["MIME-Version"] = "1.0"
    m["Date"] = date(6, 1)
    m["Message-ID"] = "<CAH7k2nQ4x8mZr1Vt6bLp3Yw9dFs0Jg5Ke2Ua7Ci8Ho4Xn1Qp@mail.gmail.example>"
    m["Subject"] = "Payment declined although balance is fine"
    m["From"] = Address("Priya Raman", addr_spec="priya.raman87@gmail.example")
    m["To"] = TO
    m.set_content("Hello,\n\nmy card payment was declined three times today although my balance is fine.\nInvoice and a screenshot are attached.\n\nThanks,\nPriya\n", cte="7bit")
    m.add_alternative('<div dir="ltr">Hello,<div><br></div><div>my card payment was declined three times today although my balance is fine.</div><div>Invoice and a screenshot are attached.</div><div><br></div><div>Thanks,</div><div>Priya</div></div>\n', subtype="html", cte="quoted-printable")
    m.add_attachment(pdf_invoice_gmail.data, maintype="application", subtype="pdf", filename=pdf_invoice_gmail.name)
    m.add_attachment(png_gmail.data, maintype="image", subtype="png", filename=png_gmail.name)
    m.set_boundary("000000000000b5c8d205f1e7a3c4")
    parts = list(m.iter_parts())
    parts[0].set_boundary("000000000000b5c8d005f1e7a3c2")
    for i, p in enumerate(parts[1:]):
        p["Content-ID"] = f"<f_m7x2k1a9{i}>"
        p["X-Attachment-Id"] = f"f_m7x2k1a9{i}"
    c.add("gmail-alternative-attachments", "Gmail web: mixed > alternative (text 7bit, html QP) + PDF and PNG attachments with Content-ID/X-Attachment-Id, 000000000000… boundaries (built with Python email)",
          py_bytes(m), ("priya.raman87@gmail.example", "Priya Raman", "from"), "Payment declined although balance is fine",
          [att(pdf_invoice_gmail.name, pdf_invoice_gmail), att(png_gmail.name, png_gmail)], body="my card payment was declined three times today")

    # 007 Gmail: CJK / Cyrillic file names as encoded words -------------------------------------------
    b1, b2 = "000000000000e4f1a20605f1e9b7d1", "000000000000e4f1a10605f1e9b7cf"
    alt = multipart(b2, [
        part([("Content-Type", 'text/plain; charset="UTF-8"'), ("Content-Transfer-Encoding", "base64")], b64(crlf("Здравствуйте,\n\nприкладываю договор аренды и счёт от японского партнёра.\n\nС уважением,\nАлексей\n"))),
        part([("Content-Type", 'text/html; charset="UTF-8"'), ("Content-Transfer-Encoding", "base64")], b64(crlf('<div dir="ltr">Здравствуйте,<br><br>прикладываю договор аренды и счёт от японского партнёра.<br><br>С уважением,<br>Алексей</div>\n'))),
    ])
    parts = [part([("Content-Type", f'multipart/alternative; boundary="{b2}"')], alt)]
    for i, s in enumerate([pdf_cyr, pdf_cjk]):
        e = ew_b(s.name, "UTF-8")
        parts.append(part([("Content-Type", f'application/pdf; name="{e}"'), ("Content-Disposition", f'attachment; filename="{e}"'),
                           ("Content-Transfer-Encoding", "base64"), ("Content-ID", f"<f_m7y0q3c{i}>"), ("X-Attachment-Id", f"f_m7y0q3c{i}")], b64(s.data)))
    raw = message([
        ("MIME-Version", "1.0"), ("Date", date(7, 3)), ("Message-ID", "<CAJw5Lr2p9Xq0Tz3Nm8Ks4Hd1Vb6Yc7Fe2Ga5Ri9Uo3Pj0Wl@mail.gmail.example>"),
        ("Subject", ew_b("Договор аренды и счёт", "UTF-8")), ("From", f'{ew_b("Алексей Соколов", "UTF-8")} <a.sokolov.msk@gmail.example>'),
        ("To", TO), ("Content-Type", f'multipart/mixed; boundary="{b1}"'),
    ], multipart(b1, parts))
    c.add("gmail-cjk-cyrillic-filenames", "Gmail web: Cyrillic and CJK file names as UTF-8 B encoded words in quoted name=/filename=, base64 text",
          raw, ("a.sokolov.msk@gmail.example", "Алексей Соколов", "from"), "Договор аренды и счёт",
          [att(pdf_cyr.name, pdf_cyr), att(pdf_cjk.name, pdf_cjk)], body="прикладываю договор аренды")

    # 008 Thunderbird (Python email): format=flowed, RFC 2231 filename ---------------------------------
    m = EmailMessage(policy=SMTP)
    m["Message-ID"] = "<7c1e4b2a-9f3d-4e8a-b5c6-0d1e2f3a4b5c@posteo.example>"
    m["Date"] = date(8, 1)
    m["MIME-Version"] = "1.0"
    m["User-Agent"] = "Mozilla Thunderbird"
    m["Content-Language"] = "de-DE"
    m["To"] = TO
    m["From"] = Address("Friederike Schäfer", addr_spec="f.schaefer@posteo.example")
    m["Subject"] = "Kostenübersicht Q1 für die Abrechnung"
    flowed = ("Hallo zusammen,\n\nim Anhang die Kostenübersicht für das erste Quartal. Die Positionen \n"
              "für Miete und Strom sind jetzt getrennt ausgewiesen, wie besprochen.\n\nViele Grüße\nFriederike\n")
    m.set_content(flowed, cte="8bit", params={"format": "flowed"})
    m.add_attachment(xlsx_costs.data, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=xlsx_costs.name)
    m.set_boundary("------------8sQ2m0Vx4YtL9cKdB1rE7hZa")
    c.add("thunderbird-flowed-rfc2231", "Thunderbird: text/plain format=flowed 8bit, xlsx attachment with RFC 2231 filename*=utf-8''… (built with Python email)",
          py_bytes(m), ("f.schaefer@posteo.example", "Friederike Schäfer", "from"), "Kostenübersicht Q1 für die Abrechnung",
          [att(xlsx_costs.name, xlsx_costs)], body="die Kostenübersicht für das erste Quartal")

    # 009 Thunderbird: RFC 2231 continuations (encoded and plain) -------------------------------------
    bnd = "------------Hc4Vt9Lw1Qz6Xp3Nb8Ks0Mf2"
    fn_params = ";\r\n ".join(f"filename*{i}*={'UTF-8' + chr(39) * 2 if i == 0 else ''}{ch}" for i, ch in enumerate(rfc2231_chunks(pdf_cyr_long.name, 54)))
    nm_params = ";\r\n ".join(f"name*{i}*={'UTF-8' + chr(39) * 2 if i == 0 else ''}{ch}" for i, ch in enumerate(rfc2231_chunks(pdf_cyr_long.name, 58)))
    long_txt = txt_protokoll_long.name
    body = multipart(bnd, [
        part([("Content-Type", "text/plain; charset=UTF-8; format=flowed"), ("Content-Transfer-Encoding", "8bit")],
             crlf("Добрый день,\n\nвысылаю справку о доходах и протокол собрания.\n\n-- \nМарина Волкова\n")),
        part([("Content-Type", f"application/pdf;\r\n {nm_params}"), ("Content-Disposition", f"attachment;\r\n {fn_params}"), ("Content-Transfer-Encoding", "base64")], b64(pdf_cyr_long.data, 72)),
        part([("Content-Type", f'text/plain; charset=UTF-8;\r\n name*0="{long_txt[:40]}";\r\n name*1="{long_txt[40:]}"'),
              ("Content-Disposition", f'attachment;\r\n filename*0="{long_txt[:40]}";\r\n filename*1="{long_txt[40:]}"'),
              ("Content-Transfer-Encoding", "base64")], b64(txt_protokoll_long.data, 72)),
    ], preamble=b"This is a multi-part message in MIME format.")
    raw = message([
        ("Message-ID", "<3e9a1f7c-2b4d-4c6e-8f0a-1b2c3d4e5f60@mail.example.ru>"), ("Date", date(9, 3)), ("MIME-Version", "1.0"),
        ("User-Agent", "Mozilla Thunderbird"), ("Content-Language", "ru"), ("To", TO),
        ("From", f'{ew_b("Марина Волкова", "UTF-8")} <marina.volkova@mail.example.ru>'),
        ("Subject", ew_b("Справка о доходах за 2025 год", "UTF-8")), ("Content-Type", f'multipart/mixed; boundary="{bnd}"'),
    ], body)
    c.add("thunderbird-rfc2231-continuations", "Thunderbird: RFC 2231 continuations filename*0*=UTF-8''…; filename*1*=… (Cyrillic, long; segment boundaries fall inside UTF-8 characters, legal since segments join before decoding) and plain filename*0=/filename*1= for a long ASCII name; base64 wrapped at 72",
          raw, ("marina.volkova@mail.example.ru", "Марина Волкова", "from"), "Справка о доходах за 2025 год",
          [att(pdf_cyr_long.name, pdf_cyr_long), att(long_txt, txt_protokoll_long)], body="высылаю справку о доходах")

    # 010 Lotus Notes: name= only on Content-Type, no Content-Disposition, Notes headers ------------------
    key = "0047B1F2C1257F4A_="
    alt = multipart(f"=_alternative {key}", [
        part([("Content-Type", 'text/plain; charset="US-ASCII"')], crlf("Sehr geehrte Damen und Herren,\n\nanbei der Lieferschein 4711 zur heutigen Lieferung.\n\nMit freundlichen Gruessen\nKarl-Heinz Brandt\n", "ascii")),
        part([("Content-Type", 'text/html; charset="US-ASCII"')], crlf('<br><font size=2 face="sans-serif">Sehr geehrte Damen und Herren,</font><br><br><font size=2 face="sans-serif">anbei der Lieferschein 4711 zur heutigen Lieferung.</font><br>', "ascii")),
    ])
    body = multipart(f"=_mixed {key}", [
        part([("Content-Type", f'multipart/alternative; boundary="=_alternative {key}"')], alt),
        part([("Content-type", 'application/octet-stream; \r\n\tname="Lieferschein 4711.pdf"'), ("Content-Transfer-Encoding", "base64")], b64(pdf_lieferschein.data)),
    ], preamble=b"This is a multipart message in MIME format.")
    raw = message([
        ("Subject", "Lieferschein 4711"), ("To", "support@wallet.test"), ("X-Mailer", "Lotus Notes Release 8.5.3FP6 November 21, 2013"),
        ("Message-ID", "<OF8B2C3D4E.5F6A7B8C-ONC1257F4A.0047B1F2-C1257F4A.0047B1F5@example-spedition.de>"),
        ("From", "Karl-Heinz Brandt <karl-heinz.brandt@example-spedition.de>"), ("Date", "Tue, 10 Mar 2026 14:05:37 +0100"),
        ("X-MIMETrack", "Serialize by Router on DEHAM01/SRV/Example(Release 9.0.1FP10|January 12, 2018) at\r\n 10.03.2026 14:05:38"),
        ("X-KeepSent", "8B2C3D4E:5F6A7B8C-C1257F4A:0047B1F2;\r\n type=4; name=$KeepSent"),
        ("X-Priority", "3 (Normal)"), ("Importance", "Normal"), ("MIME-Version", "1.0"),
        ("Content-type", f'multipart/mixed; \r\n\tBoundary="=_mixed {key}"'),
    ], body)
    c.add("lotus-notes-name-only", "Lotus Notes 8.5: '=_mixed …' boundaries with a space, Content-type spelt lowercase, attachment with name= only (no Content-Disposition), X-MIMETrack/X-KeepSent",
          raw, ("karl-heinz.brandt@example-spedition.de", "Karl-Heinz Brandt", "from"), "Lieferschein 4711", [att(pdf_lieferschein.name, pdf_lieferschein)], body="anbei der Lieferschein 4711")

    # 011 iPhone Mail: HEIC with name only, unquoted boundary, no Subject ------------------------------
    bnd = "Apple-Mail-2B6D8F0A-1C3E-4A5B-9D7F-0E2C4A6B8D1F"
    body = multipart(bnd, [
        part([("Content-Type", "text/plain;\r\n\tcharset=us-ascii"), ("Content-Transfer-Encoding", "7bit")], crlf("Here is the photo of the damaged card reader\n\n", "ascii")),
        part([("Content-Type", "image/heic;\r\n\tname=IMG_4123.HEIC;\r\n\tx-apple-part-url=7D1E9B3C-5A2F-4C8D-B6E0-1F3A5C7E9B2D"), ("Content-Transfer-Encoding", "base64")], b64(heic_photo.data)),
        part([("Content-Type", "text/plain;\r\n\tcharset=us-ascii"), ("Content-Transfer-Encoding", "7bit")], crlf("\n\nSent from my iPhone", "ascii")),
    ])
    raw = message([
        ("Content-Type", f"multipart/mixed; boundary={bnd}"), ("Content-Transfer-Encoding", "7bit"),
        ("From", "Luca Bianchi <luca.bianchi@me.example>"), ("Mime-Version", "1.0 (1.0)"), ("Date", date(11, 1)),
        ("Message-Id", "<2B6D8F0A-1C3E-4A5B-9D7F-0E2C4A6B8D1F@me.example>"), ("To", TO), ("X-Mailer", "iPhone Mail (21E236)"),
    ], body)
    c.add("iphone-heic-no-subject", "iPhone Mail: unquoted Apple-Mail boundary, image/heic with name= only (unquoted, x-apple-part-url), no Subject header, 'Sent from my iPhone' part",
          raw, ("luca.bianchi@me.example", "Luca Bianchi", "from"), None, [att(heic_photo.name, heic_photo)], body="photo of the damaged card reader")

    # 012 Samsung Email (Android): boundary starting with "--", JPEG name only --------------------------
    b1, b2 = "--_com.samsung.android.email_398467127563190", "--_com.samsung.android.email_398467127565811"
    alt = multipart(b2, [
        part([("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "base64")], b64(crlf("Das Kartenlesegerät zeigt nur noch ein rotes Licht. Foto anbei.\n\n\n\nVon meinem Samsung Galaxy Smartphone gesendet.\n"))),
        part([("Content-Type", "text/html; charset=utf-8"), ("Content-Transfer-Encoding", "base64")], b64(crlf('<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head><body><div dir="auto">Das Kartenlesegerät zeigt nur noch ein rotes Licht. Foto anbei.</div></body></html>\n'))),
    ])
    body = multipart(b1, [
        part([("Content-Type", f'multipart/alternative; boundary="{b2}"')], alt),
        part([("Content-Type", f'image/jpeg; name="{jpg_android.name}"'), ("Content-Transfer-Encoding", "base64")], b64(jpg_android.data)),
    ])
    raw = message([
        ("Message-ID", "<7r3k8lq2n5x0z9c1v4b6m2-samsung@email.android.com>"), ("Date", date(12, 1)), ("Subject", ew_b("Kartenlesegerät defekt", "UTF-8")),
        ("From", "Mehmet Yilmaz <mehmet.yilmaz@gmx.example>"), ("To", TO), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed; boundary="{b1}"'),
    ], body)
    c.add("android-samsung-jpeg", "Samsung Email (Android): boundary value starting with '--', base64 text/html, image/jpeg with name= only",
          raw, ("mehmet.yilmaz@gmx.example", "Mehmet Yilmaz", "from"), "Kartenlesegerät defekt", [att(jpg_android.name, jpg_android)], body="zeigt nur noch ein rotes Licht")

    # 013 Yahoo Mail (Python email, compat32 MIME classes) -------------------------------------------
    m = MIMEMultipart("mixed", boundary="----=_Part_2841170_1938427640.1741780000123")
    alt = MIMEMultipart("alternative", boundary="----=_Part_2841169_1306829341.1741780000122")
    drop_mime_version(alt)
    alt.attach(qp_mime_text("Hola,\n\nel cargo aparece dos veces en mi extracto. Adjunto la factura.\n\nSaludos,\nMaría José\n"))
    alt.attach(qp_mime_text('<html><head></head><body><div class="ydp3f1a2b3cyahoo-style-wrap" style="font-family:Helvetica Neue, Helvetica, Arial, sans-serif;font-size:13px;"><div dir="ltr">Hola,</div><div dir="ltr"><br></div><div dir="ltr">el cargo aparece dos veces en mi extracto. Adjunto la factura.</div></div></body></html>', "html"))
    m.attach(alt)
    a = compat_attachment(pdf_factura.data, "application", "pdf", name=pdf_factura.name)
    a.add_header("Content-Disposition", "attachment", filename=pdf_factura.name)
    a["Content-ID"] = "<e3c1a7b9-2f4d-6e8a-0b1c-3d5e7f9a1b2c@yahoo.example>"
    m.attach(a)
    for k, v in [("From", f'"{ew_q("María José García")}" <mariajose.garcia@yahoo.example>'), ("To", TO),
                 ("Message-ID", "<1938427640.2841171.1741780000124@mail.yahoo.example>"), ("Subject", "Cargo duplicado en mi tarjeta"),
                 ("Date", date(13, -5)), ("X-Mailer", "WebService/1.1.23187 YMailNorrin")]:
        m[k] = v
    c.add("yahoo-mail", "Yahoo Mail web: ----=_Part_ boundaries, QP text and html, attachment with Content-ID, QP encoded-word display name in quotes (built with Python email compat32)",
          py_bytes(m, COMPAT_CRLF), ("mariajose.garcia@yahoo.example", "María José García", "from"), "Cargo duplicado en mi tarjeta",
          [att(pdf_factura.name, pdf_factura)], body="el cargo aparece dos veces")

    # 014 PHP mail(): LF-only line endings ------------------------------------------------------------
    LF = b"\n"
    bnd = "PHP-mixed-5f4dcc3b5aa765d61d8327deb882cf99"
    text = "Neue Anfrage ueber das Kontaktformular:\n\nName: Jens Meyer\nE-Mail: kunde.meyer@web.example\nNachricht: Meine Bestellung 100231 ist nicht angekommen.\n"
    body = multipart(bnd, [
        part([("Content-Type", 'text/plain; charset="iso-8859-1"'), ("Content-Transfer-Encoding", "7bit")], text.encode("ascii"), eol=LF),
        part([("Content-Type", 'text/csv; name="anhang.csv"'), ("Content-Transfer-Encoding", "base64"), ("Content-Disposition", 'attachment; filename="anhang.csv"')], b64(csv_php.data).replace(CRLF, LF), eol=LF),
        part([("Content-Type", 'image/png; name="foto.png"'), ("Content-Transfer-Encoding", "base64"), ("Content-Disposition", 'attachment; filename="foto.png"')], b64(png_php.data).replace(CRLF, LF), eol=LF),
    ], eol=LF)
    hdrs = head(("To", TO), ("Subject", "Kontaktformular: Anfrage von Jens Meyer"), ("X-Mailer", "PHP/8.1.2-1ubuntu2.20"),
                ("From", "Kontaktformular <noreply@shop-beispiel.example>"), ("Reply-To", "kunde.meyer@web.example"),
                ("Date", date(14, 1)), ("MIME-Version", "1.0"), ("Content-Type", f'multipart/mixed; boundary="{bnd}"')).replace(CRLF, LF)
    c.add("php-mail-lf-only", "PHP mail() script: LF-only line endings throughout (headers, boundaries, base64), no Message-ID, Reply-To with the customer",
          hdrs + LF + body, ("noreply@shop-beispiel.example", "Kontaktformular", "from"), "Kontaktformular: Anfrage von Jens Meyer",
          [att(csv_php.name, csv_php), att(png_php.name, png_php)], body="Meine Bestellung 100231 ist nicht angekommen")

    # 015 PHPMailer (Python email compat32) -------------------------------------------------------------
    m = MIMEMultipart("mixed", boundary="b1=_Xq3LkV7tQm2Zc9Wn8Rf5Yh1Jd4Ps6Ga0")
    m.preamble = "This is a multi-part message in MIME format."
    m.attach(qp_mime_text("Vielen Dank für Ihre Bestellung!\n\nBestellbestätigung Nr. 100234\nArtikel: Kartenleser KL-2 (2 Stück)\nSumme: 129,80 EUR\n"))
    a = compat_attachment(pdf_phpmailer.data, "application", "pdf", name=pdf_phpmailer.name)
    a.add_header("Content-Disposition", "attachment", filename=pdf_phpmailer.name)
    m.attach(a)
    for k, v in [("Date", date(15, 1)), ("To", "Wallet Support <support@wallet.test>"), ("From", "Online-Shop Beispiel <shop@shop-beispiel.example>"),
                 ("Subject", ew_q("Ihre Bestellbestätigung Nr. 100234")), ("Message-ID", "<Xq3LkV7tQm2Zc9Wn8Rf5Yh1Jd4Ps6Ga0@shop-beispiel.example>"),
                 ("X-Mailer", "PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)")]:
        m[k] = v
    c.add("phpmailer", "PHPMailer 6: b1=_ boundary, preamble, QP utf-8 body, base64 PDF (built with Python email compat32)",
          py_bytes(m, COMPAT_CRLF), ("shop@shop-beispiel.example", "Online-Shop Beispiel", "from"), "Ihre Bestellbestätigung Nr. 100234",
          [att(pdf_phpmailer.name, pdf_phpmailer)], body="Bestellbestätigung Nr. 100234")

    # 016 Mutt PGP/MIME signed: signature.asc without a final newline --------------------------------
    bnd = "u5nq3tmp7ebxwy6k"
    body = multipart(bnd, [
        part([("Content-Type", "text/plain; charset=us-ascii"), ("Content-Disposition", "inline")],
             crlf("Hi,\n\nafter rotating the API token yesterday our webhook calls get 401.\nIs there a delay before a new token is active?\n\nErik\n", "ascii")),
        part([("Content-Type", 'application/pgp-signature; name="signature.asc"'), ("Content-Description", "PGP signature"), ("Content-Disposition", 'attachment; filename="signature.asc"')], sig_noeol.data),
    ])
    raw = message([
        ("Date", date(16, 1)), ("From", "Erik Lindqvist <erik@lindqvist.example>"), ("To", TO), ("Subject", "API token rotation: webhook gets 401"),
        ("Message-ID", "<20260316101522.ab3kd7fj2m4q@lindqvist.example>"), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/signed; micalg=pgp-sha512;\r\n\tprotocol="application/pgp-signature"; boundary="{bnd}"'),
        ("Content-Disposition", "inline"), ("User-Agent", "NeoMutt/20231103"),
    ], body)
    c.add("mutt-pgp-signed", "NeoMutt PGP/MIME multipart/signed: detached signature.asc, 7bit (no CTE header), armored text ending WITHOUT a newline before the boundary",
          raw, ("erik@lindqvist.example", "Erik Lindqvist", "from"), "API token rotation: webhook gets 401", [att("signature.asc", sig_noeol)], body="our webhook calls get 401")

    # 017 Thunderbird OpenPGP signed: protected headers, key attached, signature with final newline ---
    b1, b2 = "------------Zt6xWb1Lc0fQ3nYp8Ks2Vh5R", "------------m4Q0uZ8xT2cV6bN1kL9jH3gF"
    inner = multipart(b2, [
        part([("Content-Type", "text/plain; charset=UTF-8; format=flowed"), ("Content-Transfer-Encoding", "7bit")], crlf("Hello,\n\nplease use the attached key for encrypted replies about the chargeback.\n\nBest,\nSvenja\n", "ascii")),
        part([("Content-Type", f'application/pgp-keys; name="{pgp_key.name}"'), ("Content-Disposition", f'attachment; filename="{pgp_key.name}"'), ("Content-Description", "OpenPGP public key"), ("Content-Transfer-Encoding", "quoted-printable")], qp_binary(pgp_key.data)),
    ])
    body = multipart(b1, [
        part([("Content-Type", f'multipart/mixed; boundary="{b2}";\r\n protected-headers="v1"'), ("Subject", "Chargeback 2026-03: encrypted replies please"), ("From", "Svenja Holm <svenja.holm@mailbox.example>"), ("To", TO)], inner),
        part([("Content-Type", 'application/pgp-signature; name="OpenPGP_signature.asc"'), ("Content-Description", "OpenPGP digital signature"),
              ("Content-Disposition", 'attachment; filename="OpenPGP_signature.asc"'), ("Content-Transfer-Encoding", "7bit")], sig_eol.data),
    ], preamble=b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)")
    raw = message([
        ("Message-ID", "<c0a1b2c3-d4e5-4f60-8172-93a4b5c6d7e8@mailbox.example>"), ("Date", date(17, 1)), ("MIME-Version", "1.0"),
        ("User-Agent", "Mozilla Thunderbird"), ("Content-Language", "en-US"), ("To", TO), ("From", "Svenja Holm <svenja.holm@mailbox.example>"),
        ("Subject", "Chargeback 2026-03: encrypted replies please"), ("Autocrypt", "addr=svenja.holm@mailbox.example; keydata=\r\n xjMEZ"),
        ("Content-Type", f'multipart/signed; micalg=pgp-sha256;\r\n protocol="application/pgp-signature";\r\n boundary="{b1}"'),
    ], body)
    c.add("thunderbird-openpgp-signed", "Thunderbird OpenPGP: multipart/signed > mixed with protected headers, public key attached (QP), OpenPGP_signature.asc 7bit WITH a final newline",
          raw, ("svenja.holm@mailbox.example", "Svenja Holm", "from"), "Chargeback 2026-03: encrypted replies please",
          [att(pgp_key.name, pgp_key), att("OpenPGP_signature.asc", sig_eol)], body="please use the attached key")

    # 018 Outlook S/MIME signed --------------------------------------------------------------------
    b1, b2 = "----=_NextPart_000_0012_01DA8C3B.4F5E6A70", "----=_NextPart_001_0013_01DA8C3B.4F5E6A70"
    alt = multipart(b2, [
        part([("Content-Type", 'text/plain;\r\n\tcharset="utf-8"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_text("Sehr geehrte Damen und Herren,\n\nbitte bestätigen Sie die Kündigung des Händlervertrags zum 31.03.2026.\n\nMit freundlichen Grüßen\nDr. Ulrike Brandl\n")),
        part([("Content-Type", 'text/html;\r\n\tcharset="utf-8"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_text("<html><body><p>Sehr geehrte Damen und Herren,</p><p>bitte bestätigen Sie die Kündigung des Händlervertrags zum 31.03.2026.</p></body></html>")),
    ])
    body = multipart(b1, [
        part([("Content-Type", f'multipart/alternative;\r\n\tboundary="{b2}"')], alt),
        part([("Content-Type", 'application/pkcs7-signature;\r\n\tname="smime.p7s"'), ("Content-Transfer-Encoding", "base64"), ("Content-Disposition", 'attachment;\r\n\tfilename="smime.p7s"')], b64(p7s_outlook.data)),
    ], preamble=b"This is a multipart message in MIME format.\r\n")
    raw = message([
        ("From", '"Dr. Ulrike Brandl" <ulrike.brandl@kanzlei-brandl.example>'), ("To", "<support@wallet.test>"),
        ("Subject", ew_b("Kündigung Händlervertrag")), ("Date", date(18, 1)), ("Message-ID", "<001201da8c3b$4f5e6a70$edfb3f50$@kanzlei-brandl.example>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/signed;\r\n\tprotocol="application/x-pkcs7-signature";\r\n\tmicalg=2.16.840.1.101.3.4.2.1;\r\n\tboundary="{b1}"'),
        ("X-Mailer", "Microsoft Outlook 16.0"), ("Thread-Index", "AdqMO09eCqz1k2T4RjW8vY3nq0Lr5A=="), ("Content-Language", "de"),
    ], body)
    c.add("outlook-smime-signed", "Outlook desktop S/MIME: multipart/signed (x-pkcs7-signature protocol) > alternative + application/pkcs7-signature smime.p7s base64, ----=_NextPart_ boundaries",
          raw, ("ulrike.brandl@kanzlei-brandl.example", "Dr. Ulrike Brandl", "from"), "Kündigung Händlervertrag", [att("smime.p7s", p7s_outlook)], body="bitte bestätigen Sie die Kündigung")

    # 019 S/MIME signature added by a gateway: no file name at all ------------------------------------
    bnd = "----GW7F3A2B1C0D9E8F"
    body = multipart(bnd, [
        part([("Content-Type", "text/plain; charset=ISO-8859-1"), ("Content-Transfer-Encoding", "quoted-printable")], qp_text("Guten Tag,\n\nanbei unsere neue Bankverbindung ab April. Bitte Stammdaten anpassen.\n\nBuchhaltung\n", "iso-8859-1")),
        part([("Content-Type", "application/x-pkcs7-signature"), ("Content-Transfer-Encoding", "base64")], b64(p7s_gateway.data, 64)),
    ], preamble=b"This is an S/MIME signed message")
    raw = message([
        ("From", "Buchhaltung Nordwerk <buchhaltung@nordwerk.example>"), ("To", TO), ("Subject", "Neue Bankverbindung ab April"),
        ("Date", date(19, 1)), ("Message-ID", "<20260319.gw.5b7d4061@gateway.nordwerk.example>"), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/signed; protocol="application/x-pkcs7-signature"; micalg="sha-256"; boundary="{bnd}"'),
        ("X-Signed-By", "CipherMail gateway"),
    ], body)
    c.add("gateway-smime-no-filename", "S/MIME signature added by a mail gateway: application/x-pkcs7-signature without name or disposition (the agent sees smime.p7s)",
          raw, ("buchhaltung@nordwerk.example", "Buchhaltung Nordwerk", "from"), "Neue Bankverbindung ab April", [att("smime.p7s", p7s_gateway)], body="anbei unsere neue Bankverbindung")

    # 020 Mailman 2: list footer as a separate text part (Python email compat32) ----------------------
    m = MIMEMultipart("mixed", boundary="===============4817465922184417398==")
    t = MIMEText("Hi all,\n\nwhen I export the CSV from the dashboard the amounts have no decimals.\nAnyone else seeing this?\n\nTom\n", "plain", "us-ascii")
    drop_mime_version(t)
    m.attach(t)
    f = MIMEText("_______________________________________________\nSupport-forum mailing list\nSupport-forum@lists.example.org\nhttps://lists.example.org/mailman/listinfo/support-forum\n", "plain", "us-ascii")
    drop_mime_version(f)
    f.add_header("Content-Disposition", "inline")
    m.attach(f)
    for k, v in [("From", "Tom Nguyen <tom.nguyen@example.net>"), ("To", "support-forum@lists.example.org"), ("Cc", TO),
                 ("Subject", "[Support-forum] CSV export drops decimals"), ("Date", date(20, 7)), ("Message-ID", "<5e6f7a8b9c0d.tom@example.net>"),
                 ("X-BeenThere", "support-forum@lists.example.org"), ("X-Mailman-Version", "2.1.39"), ("Precedence", "list"),
                 ("List-Id", "Support forum <support-forum.lists.example.org>"), ("List-Unsubscribe", "<https://lists.example.org/mailman/options/support-forum>,\r\n <mailto:support-forum-request@lists.example.org?subject=unsubscribe>"),
                 ("List-Archive", "<https://lists.example.org/pipermail/support-forum/>"), ("List-Post", "<mailto:support-forum@lists.example.org>")]:
        m[k] = v
    c.add("mailman-footer-part", "Mailman 2.1 list post: the list footer appended as a separate inline text/plain part (no attachment), List-* headers, Precedence: list",
          py_bytes(m, COMPAT_CRLF), ("tom.nguyen@example.net", "Tom Nguyen", "from"), "[Support-forum] CSV export drops decimals", [], body="the amounts have no decimals")

    # 021 DMARC rewriting with X-Original-From (Google Groups style) ----------------------------------
    raw = message([
        ("From", '"Ann Smith via Support Forum" <forum@lists.example.org>'), ("X-Original-From", "Ann Smith <ann@example.com>"),
        ("Reply-To", "forum@lists.example.org"), ("To", "Support Forum <forum@lists.example.org>"), ("Cc", TO),
        ("Subject", "Refund still pending after 10 days"), ("Date", date(21, 0)), ("Message-ID", "<b4e1c2d3-6f70-4a81-9b2c-3d4e5f607182n@googlegroups.example>"),
        ("Mailing-list", "list forum@lists.example.org; contact forum+owners@lists.example.org"), ("Precedence", "list"),
        ("List-ID", "<forum.lists.example.org>"), ("MIME-Version", "1.0"), ("Content-Type", 'text/plain; charset="UTF-8"'), ("Content-Transfer-Encoding", "quoted-printable"),
    ], qp_text("Hello,\n\nmy refund for order 55120 is still pending after 10 days.\n\nAnn\n\n-- \nYou received this message because you are subscribed to the Support Forum group.\n"))
    c.add("dmarc-x-original-from", "Google-Groups-style DMARC rewriting: From \"Ann Smith via Support Forum\" <list>, the person in X-Original-From",
          raw, ("ann@example.com", "Ann Smith", "x-original-from"), "Refund still pending after 10 days", [], body="my refund for order 55120 is still pending")

    # 022 DMARC rewriting, only Reply-To names the person (Mailman 3, Python email) -----------------
    m = EmailMessage(policy=SMTP)
    m["From"] = '"Ann Smith via Support Forum" <forum@lists.example.org>'
    m["Reply-To"] = "Ann <ann2@example.com>"
    m["To"] = "forum@lists.example.org"
    m["Cc"] = TO
    m["Subject"] = "[Support Forum] Two-factor codes arrive late"
    m["Date"] = date(22, 0)
    m["Message-ID"] = "<174222000.77.ann2@mm3.lists.example.org>"
    m["List-Id"] = "<forum.lists.example.org>"
    m["X-Mailman-Version"] = "3.3.9"
    m["Precedence"] = "list"
    m.set_content("Hi,\n\nmy two-factor codes arrive five minutes late, so they have expired.\n\nAnn\n", cte="7bit")
    c.add("dmarc-reply-to-only", "Mailman 3 DMARC mitigation: From rewritten to the list (\"… via Support Forum\"), only Reply-To names the person (built with Python email)",
          py_bytes(m), ("ann2@example.com", "Ann", "reply-to"), "[Support Forum] Two-factor codes arrive late", [], body="my two-factor codes arrive five minutes late")

    # 023 Forward as attachment: message/rfc822 8bit, mixed CRLF/LF inside ---------------------------
    embedded_lines = [
        ("Return-Path: <b.krueger@example.de>", "\r\n"), ("From: Beate Krüger <b.krueger@example.de>", "\r\n"),
        ("To: Dominik Berger <dominik.berger@example-partner.de>", "\r\n"), ("Subject: =?UTF-8?Q?Lieferverz=C3=B6gerung_Bestellung_5521?=", "\r\n"),
        ("Date: Mon, 09 Mar 2026 16:20:11 +0100", "\n"), ("Message-ID: <5521.beate@example.de>", "\r\n"), ("MIME-Version: 1.0", "\r\n"),
        ("Content-Type: text/plain; charset=utf-8", "\n"), ("Content-Transfer-Encoding: 8bit", "\r\n"), ("", "\r\n"),
        ("Hallo Herr Berger,", "\n"), ("", "\n"), ("die Bestellung 5521 ist immer noch nicht da. Das Zahlungsterminal fehlt uns", "\r\n"),
        ("seit einer Woche – bitte klären Sie das mit dem Hersteller.", "\n"), ("", "\r\n"), ("Grüße", "\r\n"), ("Beate Krüger", "\n"),
    ]
    embedded = "".join(l + e for l, e in embedded_lines).encode("utf-8")
    emb_src = S("forwarded-mixed-eol.eml", embedded)
    emb_imap = S("forwarded-mixed-eol.imap.eml", embedded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    bnd = "------------e1Xk4P9wQ2rZ7tVb0Lm3Ny6H"
    body = multipart(bnd, [
        part([("Content-Type", "text/plain; charset=UTF-8; format=flowed"), ("Content-Transfer-Encoding", "8bit")], crlf("Hallo,\n\nhier die weitergeleitete Beschwerde der Kundin, bitte als Ticket anlegen.\n\nDominik\n")),
        part([("Content-Type", "message/rfc822"), ("Content-Disposition", "attachment"), ("Content-Transfer-Encoding", "8bit")], emb_src.data),
    ], preamble=b"This is a multi-part message in MIME format.")
    raw = message([
        ("Message-ID", "<a7f3e1d2-0c4b-4e5a-9f6d-8b7a6c5d4e3f@example-partner.de>"), ("Date", date(23, 1)), ("MIME-Version", "1.0"), ("User-Agent", "Mozilla Thunderbird"),
        ("From", "Dominik Berger <dominik.berger@example-partner.de>"), ("To", TO), ("Subject", ew_q("Fwd: Lieferverzögerung Bestellung 5521")),
        ("Content-Type", f'multipart/mixed; boundary="{bnd}"'),
    ], body)
    c.add("forward-attached-rfc822-8bit", "Thunderbird 'forward as attachment': message/rfc822 8bit without a name, the embedded mail mixes CRLF and bare LF (an IMAP server hands it out with CRLF: the expected .eml is sources/forwarded-mixed-eol.imap.eml)",
          raw, ("dominik.berger@example-partner.de", "Dominik Berger", "from"), "Fwd: Lieferverzögerung Bestellung 5521",
          [att("Lieferverzögerung Bestellung 5521.eml", emb_imap)], body="hier die weitergeleitete Beschwerde")

    # 024 Forward of a forward (Python email builds the two embedded levels) -------------------------
    inner = EmailMessage(policy=SMTP)
    inner["From"] = Address("Gerda Lindner", addr_spec="g.lindner@example-kunde.de")
    inner["To"] = "buchhaltung@example-partner.de"
    inner["Subject"] = "Rechnungskorrektur 2026-0311"
    inner["Date"] = "Wed, 11 Mar 2026 09:02:00 +0100"
    inner["Message-ID"] = "<2026-0311.gerda@example-kunde.de>"
    inner.set_content("Bitte korrigieren Sie die Rechnung 2026-0311, der Betrag ist doppelt berechnet.\n", cte="quoted-printable")
    inner.add_attachment(pdf_nested_inner.data, maintype="application", subtype="pdf", filename=pdf_nested_inner.name)
    inner.set_boundary("inner-2026-0311-boundary")
    middle = EmailMessage(policy=SMTP)
    middle["From"] = Address("Buchhaltung Partner", addr_spec="buchhaltung@example-partner.de")
    middle["To"] = "dominik.berger@example-partner.de"
    middle["Subject"] = "Fwd: Rechnungskorrektur 2026-0311"
    middle["Date"] = "Wed, 11 Mar 2026 11:30:00 +0100"
    middle["Message-ID"] = "<fwd-2026-0311.buha@example-partner.de>"
    middle.set_content("Zur Info, bitte an den Zahlungsdienstleister weitergeben.\n", cte="7bit")
    middle.add_attachment(inner)  # message/rfc822
    middle.set_boundary("middle-2026-0311-boundary")
    middle_bytes = py_bytes(middle)
    assert all(b < 0x80 for b in middle_bytes)
    emb_nested = S("forward-of-forward.eml", middle_bytes)
    ob = "----=_NextPart_000_00A1_01DA9300.11223344"
    body = multipart(ob, [
        part([("Content-Type", 'text/plain;\r\n\tcharset="utf-8"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_text("Hallo Wallet-Support,\n\nanbei die weitergeleitete Korrekturanfrage samt Originalrechnung.\n\nGruß\nDominik\n")),
        part([("Content-Type", "message/rfc822"), ("Content-Transfer-Encoding", "7bit"), ("Content-Disposition", "attachment")], emb_nested.data.rstrip(b"\r\n") + CRLF),
    ], preamble=b"This is a multipart message in MIME format.\r\n")
    # the embedded bytes as carried: the generator ends the message with CRLF already
    assert emb_nested.data.endswith(CRLF) and not emb_nested.data.endswith(CRLF + CRLF)
    raw = message([
        ("From", "Dominik Berger <dominik.berger@example-partner.de>"), ("To", "<support@wallet.test>"), ("Subject", "WG: Fwd: Rechnungskorrektur 2026-0311"),
        ("Date", date(24, 1)), ("Message-ID", "<00a101da9300$11223344$55667788@example-partner.de>"), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed;\r\n\tboundary="{ob}"'), ("X-Mailer", "Microsoft Outlook 16.0"),
    ], body)
    c.add("forward-of-forward-nested", "Outlook forwards a forward as attachment: message/rfc822 whose mail itself carries a message/rfc822 with a PDF (the embedded levels built with Python email)",
          raw, ("dominik.berger@example-partner.de", "Dominik Berger", "from"), "WG: Fwd: Rechnungskorrektur 2026-0311",
          [att("Fwd: Rechnungskorrektur 2026-0311.eml", emb_nested)], body="anbei die weitergeleitete Korrekturanfrage")

    # 025 Inline forward in the text (Gmail style, Python email) -------------------------------------
    m = EmailMessage(policy=SMTP)
    m["MIME-Version"] = "1.0"
    m["Date"] = date(25, 1)
    m["Message-ID"] = "<CAB9x1Lq7Wm2Nc4Rv8Tz0Ky6Hp3Jd5Fs1Ga9Ue2Ci7Ob4Xw@mail.gmail.example>"
    m["Subject"] = "Fwd: Doppelte Abbuchung"
    m["From"] = Address("Hanna Vogt", addr_spec="hanna.vogt.privat@gmail.example")
    m["To"] = TO
    m.set_content(
        "Bitte um Prüfung, meine Mutter hat mir das geschickt.\n\n"
        "---------- Forwarded message ---------\nFrom: Ingrid Vogt <ingrid.vogt@t-online.example>\nDate: Mon, 9 Mar 2026 at 18:02\n"
        "Subject: Doppelte Abbuchung\nTo: Hanna Vogt <hanna.vogt.privat@gmail.example>\n\n\n"
        "Hallo Hanna,\nDie Abbuchung erfolgte zweimal am 7. März, je 49,90 Euro.\nKannst du dich darum kümmern?\nMama\n",
        cte="quoted-printable")
    m.set_param("charset", "UTF-8")
    c.add("inline-forward-text", "Gmail inline forward: '---------- Forwarded message ---------' block inside a QP text/plain (built with Python email)",
          py_bytes(m), ("hanna.vogt.privat@gmail.example", "Hanna Vogt", "from"), "Fwd: Doppelte Abbuchung", [], body="Die Abbuchung erfolgte zweimal")

    # 026 Google Calendar invite: text/calendar in alternative + invite.ics attachment ----------------
    b1, b2 = "000000000000c3d4e5f60718293a", "000000000000c3d4e5f607182938"
    alt = multipart(b2, [
        part([("Content-Type", 'text/plain; charset="UTF-8"; format=flowed; delsp=yes'), ("Content-Transfer-Encoding", "base64")], b64(crlf("You have been invited to the following event.\n\nQuartalsreview Zahlungsabwicklung\nThursday Mar 12, 2026 14:00 - 15:00 (CET)\n\nJoining info: Raum Elbe\n"))),
        part([("Content-Type", 'text/html; charset="UTF-8"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_text('<span itemscope itemtype="http://schema.org/InformAction"><meta itemprop="description" content="Quartalsreview Zahlungsabwicklung"/></span><div>You have been invited to the following event.</div><h3>Quartalsreview Zahlungsabwicklung</h3>')),
        part([("Content-Type", 'text/calendar; charset="UTF-8"; method=REQUEST'), ("Content-Transfer-Encoding", "7bit")], ics.data),
    ])
    body = multipart(b1, [
        part([("Content-Type", f'multipart/alternative; boundary="{b2}"')], alt),
        part([("Content-Type", 'application/ics; name="invite.ics"'), ("Content-Disposition", 'attachment; filename="invite.ics"'), ("Content-Transfer-Encoding", "base64")], b64(ics.data)),
    ])
    raw = message([
        ("Reply-To", "Nora Lindgren <nora.lindgren@gmail.example>"), ("Sender", "Google Calendar <calendar-notification@google.example>"),
        ("Message-ID", "<calendar-5k2m9q1r7t3v8x0z4b6d@google.example>"), ("Date", date(26, 0)),
        ("Subject", "Invitation: Quartalsreview Zahlungsabwicklung @ Thu Mar 12, 2026 14:00 - 15:00 (CET) (support@wallet.test)"),
        ("From", "Nora Lindgren <nora.lindgren@gmail.example>"), ("To", TO), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed; boundary="{b1}"'),
    ], body)
    c.add("google-calendar-invite", "Google Calendar invitation: text/calendar method=REQUEST inside multipart/alternative plus the same file as application/ics invite.ics attachment",
          raw, ("nora.lindgren@gmail.example", "Nora Lindgren", "from"), "Invitation: Quartalsreview Zahlungsabwicklung @ Thu Mar 12, 2026 14:00 - 15:00 (CET) (support@wallet.test)",
          [att("invite.ics", ics), att("invite.ics", ics)], body="You have been invited to the following event")

    # 027 Outlook meeting request: text/calendar base64 as the last alternative ----------------------
    b1 = "_000_PR3P191MB1234567890ABCDEFPR3P191MB1234EURP_"
    body = multipart(b1, [
        part([("Content-Type", 'text/plain; charset="utf-8"'), ("Content-Transfer-Encoding", "base64")], b64(crlf("Dzień dobry,\n\nzapraszam na spotkanie w sprawie integracji terminali.\n\nPiotr Kowalski\n"))),
        part([("Content-Type", 'text/html; charset="utf-8"'), ("Content-Transfer-Encoding", "base64")], b64(crlf("<html><body><p>Dzień dobry,</p><p>zapraszam na spotkanie w sprawie integracji terminali.</p></body></html>\n"))),
        part([("Content-Type", 'text/calendar; charset="utf-8"; method=REQUEST'), ("Content-Transfer-Encoding", "base64")], b64(ics_outlook.data)),
    ])
    raw = message([
        ("From", '"Kowalski, Piotr" <piotr.kowalski@contoso-pl.example>'), ("To", "support@wallet.test <support@wallet.test>"),
        ("Subject", ew_b("Spotkanie: integracja terminali")), ("Thread-Topic", "Spotkanie: integracja terminali"), ("Date", date(27, 1)),
        ("Message-ID", "<PR3P191MB1234567890ABCDEF@PR3P191MB1234.EURP191.PROD.OUTLOOK.COM>"), ("Accept-Language", "pl-PL"),
        ("X-MS-Has-Attach", ""), ("X-MS-TNEF-Correlator", ""), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative;\r\n\tboundary="{b1}"'),
    ], body)
    c.add("outlook-meeting-request", "Outlook meeting request: multipart/alternative with text, html and a base64 text/calendar method=REQUEST (no separate .ics attachment)",
          raw, ("piotr.kowalski@contoso-pl.example", "Kowalski, Piotr", "from"), "Spotkanie: integracja terminali", [att("invite.ics", ics_outlook)], body="zapraszam na spotkanie")

    # 028-034 Raw 8-bit headers with the body declaring the same charset -----------------------------
    def no_backslash_quoted(name: str, cs: str) -> bytes:
        b = name.encode(cs)
        assert b"\\" not in b and b'"' not in b, (name, cs)
        return b'"' + b + b'"'

    raw8 = [
        ("gb2312", "gb2312", "王小明", "wang.xiaoming@163.example", "关于退款申请的问题，请尽快处理", "您好，我上个月申请的退款到现在还没有到账，请帮忙查一下。\n谢谢！\n王小明\n", "申请的退款到现在还没有到账",
         "X-Mailer: Foxmail 7.2.25.228[cn]", "raw 8-bit GB2312 Subject and From name (no encoded words), text/plain charset=gb2312 8bit: older Chinese client/webmail setups", True),
        ("big5", "big5", "陳美玲", "meiling.chen@hinet.example", "訂單查詢：請問我的包裹何時到達", "您好：\n我的訂單已經付款一週了，請問包裹何時到達？\n陳美玲 敬上\n", "請問包裹何時到達",
         "X-Mailer: Microsoft Outlook Express 6.00.2900.5931", "raw 8-bit Big5 Subject and quoted From name, text/plain charset=big5 8bit (Outlook Express, Taiwan)", True),
        ("shift_jis", "Shift_JIS", "山田太郎", "taro.yamada@nifty.example", "請求書の再発行をお願いします", "お世話になっております。\n先月分の請求書を紛失してしまいました。再発行をお願いできますでしょうか。\n山田\n", "請求書を紛失してしまいました",
         "X-Mailer: Becky! ver. 2.81.04", "raw 8-bit Shift_JIS Subject and From name, text/plain charset=Shift_JIS 8bit", False),
        ("euc_kr", "EUC-KR", "김민수", "minsu.kim@daum.example", "환불 요청드립니다 주문번호 확인 부탁드립니다", "안녕하세요.\n지난주에 주문한 상품을 환불하고 싶습니다.\n감사합니다.\n", "주문한 상품을 환불하고 싶습니다",
         "X-Mailer: Daum Web Mailer 1.1", "raw 8-bit EUC-KR Subject and quoted From name, text/plain charset=euc-kr 8bit (Korean webmail)", True),
        ("koi8_r", "koi8-r", "Иван Петров", "ivan.petrov@rambler.example", "Вопрос по оплате счёта", "Здравствуйте!\nСчёт 4471 оплачен ещё вчера, но в личном кабинете статус не изменился.\nИван\n", "статус не изменился",
         "X-Mailer: The Bat! (v9.5.2) Professional", "raw 8-bit KOI8-R Subject and From name, text/plain charset=koi8-r 8bit (The Bat!)", False),
        ("cp1251", "windows-1251", "Ольга Смирнова", "olga.smirnova@yandex.example", "Не приходит письмо с подтверждением", "Добрый день!\nПосле регистрации не приходит письмо с подтверждением. Проверила спам — пусто.\nОльга\n", "Проверила спам",
         "X-Mailer: Microsoft Outlook Express 6.00.2900.5512", "raw 8-bit windows-1251 Subject and quoted From name, text/plain charset=windows-1251 8bit (Outlook Express, Russian)", True),
        ("cp1250", "windows-1250", "Jiří Dvořák", "jiri.dvorak@seznam.example", "Žádost o vrácení peněz za objednávku", "Dobrý den,\nprosím o vrácení peněz za objednávku 8812, zboží nedorazilo.\nDěkuji, Jiří Dvořák\n", "zboží nedorazilo",
         "X-Mailer: Seznam Email", "raw 8-bit windows-1250 Subject and From name, text/plain charset=windows-1250 8bit (Czech webmail)", False),
    ]
    for i, (codec, label, name, addr, subj, text, snippet, xm, shape, quoted) in enumerate(raw8):
        n = 28 + i
        disp = no_backslash_quoted(name, codec) if quoted else name.encode(codec)
        raw = (head(("From", disp + f" <{addr}>".encode()), ("To", TO), ("Subject", subj.encode(codec)), ("Date", date(n, 8 if codec in ("gb2312", "big5") else 9 if codec in ("shift_jis", "euc_kr") else 3 if codec in ("koi8_r", "cp1251") else 1)),
                     ("Message-ID", f"<raw8bit.{codec}.{n}@{addr.split('@')[1]}>"), ("MIME-Version", "1.0"), ("Content-Type", f"text/plain; charset={label}"),
                     ("Content-Transfer-Encoding", "8bit"), tuple(xm.split(": ", 1))) + CRLF + crlf(text, codec))
        c.add(f"raw8bit-{label.lower().replace('_', '-')}", shape, raw, (addr, name, "from"), subj, [], body=snippet)

    # 035-037 Raw 8-bit headers and body with NO charset declared anywhere ---------------------------
    undeclared = [
        ("cp1251", "Екатерина Александровна Кузнецова", "e.kuznetsova@mail.example.ru", "Срочно: не могу войти в личный кабинет после обновления приложения",
         "Здравствуйте!\nПосле обновления приложения не могу войти в личный кабинет: пишет, что пароль неверный, хотя я его не меняла.\nПомогите, пожалуйста.\n", "хотя я его не меняла",
         "X-Mailer: 1C:Enterprise 8.3", "undeclared-windows-1251", "raw 8-bit windows-1251 Subject, From name and body with no MIME headers at all (an ERP system's mailer): charset must be detected"),
        ("gbk", "北京星辰科技有限公司客户服务中心李经理", "li.jingli@xingchen-tech.example.cn", "您好，我们上周订购的读卡器到现在还没有收到，请帮忙查询一下物流信息",
         "您好：\n我们公司上周订购了二十台读卡器，到现在还没有收到，订单号是 DD20260302。请帮忙查询一下物流信息，谢谢。\n", "请帮忙查询一下物流信息",
         "X-Mailer: Microsoft Outlook Express 6.00.2900.5512", "undeclared-gbk", "raw 8-bit GBK Subject, From name and body, Content-Type text/plain without charset: charset must be detected"),
        ("utf-8", "Jürgen Müller-Lüdenscheidt", "juergen.mueller@example-verein.de", "Frage zur Rückerstattung für Bestellung Nr. 20331 – dringend, bitte prüfen",
         "Sehr geehrte Damen und Herren,\nich warte seit drei Wochen auf die Rückerstattung für meine Bestellung. Bitte prüfen Sie das – danke!\nJürgen Müller-Lüdenscheidt\n", "seit drei Wochen auf die Rückerstattung",
         "User-Agent: Roundcube Webmail/1.4.15", "undeclared-utf-8", "raw 8-bit UTF-8 Subject, From name and body, no charset declared anywhere (misconfigured webmail)"),
    ]
    for i, (codec, name, addr, subj, text, snippet, xm, short, shape) in enumerate(undeclared):
        n = 35 + i
        hs = [("From", name.encode(codec) + f" <{addr}>".encode()), ("To", TO), ("Subject", subj.encode(codec)), ("Date", date(n, 3)), ("Message-ID", f"<undeclared.{n}.{codec}@{addr.split('@')[1]}>"), tuple(xm.split(": ", 1))]
        if codec == "gbk":
            hs += [("MIME-Version", "1.0"), ("Content-Type", "text/plain"), ("Content-Transfer-Encoding", "8bit")]
        c.add(short, shape, head(*hs) + CRLF + crlf(text, codec), (addr, name, "from"), subj, [], body=snippet)

    # 038 ISO-2022-JP label over Shift_JIS bytes --------------------------------------------------
    subj = "【重要】ご注文内容の確認について"
    name = "佐藤花子"
    raw = message([
        ("From", f"{ew_b_bytes(name.encode('shift_jis'), 'ISO-2022-JP')} <hanako.sato@docomo.example>"), ("To", TO),
        ("Subject", ew_b_bytes(subj.encode("shift_jis"), "ISO-2022-JP")), ("Date", date(38, 9)), ("Message-ID", "<20260338.sjis-mislabel.7731@docomo.example>"),
        ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=Shift_JIS"), ("Content-Transfer-Encoding", "8bit"), ("X-Mailer", "DoCoMo mobile mail"),
    ], crlf("ご注文内容の確認メールが届きません。\n確認をお願いします。\n佐藤\n", "shift_jis"))
    c.add("iso2022jp-label-sjis-bytes", "Japanese mobile mailer: Subject and From name as =?ISO-2022-JP?B?…?= encoded words whose bytes are actually Shift_JIS; body Shift_JIS",
          raw, ("hanako.sato@docomo.example", name, "from"), subj, [], body="ご注文内容の確認メールが届きません")

    # 039 Encoded word carrying a comma in the display name ---------------------------------------
    raw = message([
        ("From", "=?iso-8859-1?Q?B=FCrling,=20Andreas?= <andreas@example.de>"), ("To", TO), ("Subject", "Kartenzahlung abgelehnt"),
        ("Date", date(39, 1)), ("Message-ID", "<39.buerling@example.de>"), ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=iso-8859-1"), ("Content-Transfer-Encoding", "quoted-printable"), ("X-Mailer", "Microsoft Outlook 14.0"),
    ], qp_text("Guten Tag,\n\nmeine Kartenzahlung wurde heute dreimal abgelehnt.\n\nA. Bürling\n", "iso-8859-1"))
    c.add("encoded-word-comma-name", "Outlook 2010 display name 'Last, First' as an unquoted Q encoded word containing a comma: =?iso-8859-1?Q?B=FCrling,=20Andreas?=",
          raw, ("andreas@example.de", "Bürling, Andreas", "from"), "Kartenzahlung abgelehnt", [], body="meine Kartenzahlung wurde heute dreimal abgelehnt")

    # 040 Subject split mid-character over two encoded words ---------------------------------------
    subj = "Rückfrage zu Ihrer Bestellung – 注文番号 7781"
    sb = subj.encode("utf-8")
    cut = sb.index("注".encode()) + 1  # inside the 3-byte sequence
    name = "Jürgen Weiß"
    nb = name.encode("utf-8")
    ncut = nb.index("ü".encode()) + 1
    raw = message([
        ("From", f"=?UTF-8?Q?{q_bytes(nb[:ncut])}?= =?UTF-8?Q?{q_bytes(nb[ncut:])}?= <juergen.weiss@example.at>"), ("To", TO),
        ("Subject", f"=?UTF-8?B?{base64.b64encode(sb[:cut]).decode()}?=\r\n =?UTF-8?B?{base64.b64encode(sb[cut:]).decode()}?="),
        ("Date", date(40, 1)), ("Message-ID", "<split-mid-char.7781@example.at>"), ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=UTF-8"), ("Content-Transfer-Encoding", "8bit"),
    ], crlf("Sehr geehrte Damen und Herren,\nwann wird Bestellung 7781 versendet?\nJürgen Weiß\n"))
    c.add("encoded-words-split-mid-character", "A mailer that splits encoded words by bytes: the Subject (B) and the From name (Q) each continue a UTF-8 character in the next encoded word",
          raw, ("juergen.weiss@example.at", name, "from"), subj, [], body="wann wird Bestellung 7781 versendet")

    # 041 / 042 Raw 8-bit attachment file names ----------------------------------------------------
    for n, codec, label, src, addr, name, subj, text, snippet, shape in [
        (41, "cp1251", "windows-1251", cyr_invoice, "buh@ooo-romashka.example", "Бухгалтерия ООО Ромашка", "Счёт на оплату №1547",
         "Добрый день!\nВо вложении счёт на оплату №1547.\n", "Во вложении счёт на оплату", "raw 8-bit windows-1251 file name in quoted filename=/name= (1C / Outlook Express Russian), body windows-1251"),
        (42, "shift_jis", "Shift_JIS", sjis_estimate, "eigyo@kabushiki-sakura.example", "さくら商事 営業部", "見積書の送付",
         "いつもお世話になっております。\n見積書を添付いたします。ご確認ください。\n", "見積書を添付いたします", "raw 8-bit Shift_JIS file name in quoted filename=/name= (Japanese groupware), body Shift_JIS"),
    ]:
        fnb = src.name.encode(codec)
        assert b"\\" not in fnb and b'"' not in fnb
        bnd = f"----=_NextPart_raw8bit_{n}"
        ctype = "application/pdf" if src.name.endswith(".pdf") else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        body = multipart(bnd, [
            part([("Content-Type", f"text/plain; charset={label}"), ("Content-Transfer-Encoding", "8bit")], crlf(text, codec)),
            part([("Content-Type", ctype.encode() + b'; name="' + fnb + b'"'), ("Content-Transfer-Encoding", "base64"), ("Content-Disposition", b'attachment; filename="' + fnb + b'"')], b64(src.data)),
        ])
        raw = message([("From", name.encode(codec) + f" <{addr}>".encode()), ("To", TO), ("Subject", subj.encode(codec)), ("Date", date(n, 3 if n == 41 else 9)),
                       ("Message-ID", f"<raw8bit-filename.{n}@{addr.split('@')[1]}>"), ("MIME-Version", "1.0"), ("Content-Type", f'multipart/mixed; boundary="{bnd}"')], body)
        c.add(f"raw8bit-filename-{label.lower().replace('_', '-')}", shape, raw, (addr, name, "from"), subj, [att(src.name, src)], body=snippet)

    # 043 PDF sent quoted-printable -----------------------------------------------------------------
    bnd = "=_qp_pdf_5c1d"
    body = multipart(bnd, [
        part([("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "7bit")], crlf("Anbei der unterschriebene Vertrag fuer das Kartenterminal.\n", "ascii")),
        part([("Content-Type", f'application/pdf; name="{pdf_qp.name}"'), ("Content-Disposition", f'attachment; filename="{pdf_qp.name}"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_binary(pdf_qp.data)),
    ])
    raw = message([("From", "Notariat Kern <kanzlei@notariat-kern.example>"), ("To", TO), ("Subject", "Vertrag Kartenterminal (unterschrieben)"), ("Date", date(43, 1)),
                   ("Message-ID", "<qp-pdf.43@notariat-kern.example>"), ("MIME-Version", "1.0"), ("X-Mailer", "Kanzleisoftware RA-MICRO 2026"),
                   ("Content-Type", f'multipart/mixed; boundary="{bnd}"')], body)
    c.add("pdf-quoted-printable", "Legal-office software sending a binary PDF with Content-Transfer-Encoding: quoted-printable (CRLF as hard breaks, lone CR/LF as =0D/=0A, NUL, '=', trailing spaces)",
          raw, ("kanzlei@notariat-kern.example", "Notariat Kern", "from"), "Vertrag Kartenterminal (unterschrieben)", [att(pdf_qp.name, pdf_qp)], body="der unterschriebene Vertrag")

    # 044 text/plain attachments sent 7bit and 8bit, files ending without a newline ------------------
    m = EmailMessage(policy=SMTP)
    m["From"] = Address("Filiale Köln-Süd", addr_spec="koeln-sued@filialen-beispiel.example")
    m["To"] = TO
    m["Subject"] = "Terminal T-4471: Fehlerprotokolle"
    m["Date"] = date(44, 1)
    m["Message-ID"] = "<44.textparts@filialen-beispiel.example>"
    m.set_content("Hallo,\nanbei die Protokolle vom Terminal T-4471.\n", cte="7bit")
    m.make_mixed()
    for src, cte, cs in [(txt_7bit, "7bit", "us-ascii"), (txt_8bit, "8bit", "utf-8")]:
        p = EmailMessage(policy=SMTP)
        p["Content-Type"] = f'text/plain; charset="{cs}"; name="{src.name}"'
        p["Content-Disposition"] = f'attachment; filename="{src.name}"'
        p["Content-Transfer-Encoding"] = cte
        p.set_payload(src.data.decode("ascii", "surrogateescape"))  # the 8bit bytes as Python's email carries them
        m.attach(p)
    m.set_boundary("===============0441718293645546==")
    raw = py_bytes(m)
    for src in (txt_7bit, txt_8bit):
        assert CRLF + CRLF + src.data + CRLF + b"--===============0441718293645546==" in raw, src.name
    c.add("text-attachments-7bit-8bit-no-newline", "Two text/plain attachments sent 7bit (ASCII) and 8bit (UTF-8), CRLF inside, the files end without a newline (built with Python email)",
          raw, ("koeln-sued@filialen-beispiel.example", "Filiale Köln-Süd", "from"), "Terminal T-4471: Fehlerprotokolle",
          [att(txt_7bit.name, txt_7bit), att(txt_8bit.name, txt_8bit)], body="anbei die Protokolle vom Terminal T-4471")

    # 045 x-uuencode part ---------------------------------------------------------------------------
    bnd = "uu-part-0451"
    body = multipart(bnd, [
        part([("Content-Type", "text/plain; charset=us-ascii")], crlf("Attached is the terminal dump.\n", "ascii")),
        part([("Content-Type", f"application/octet-stream; name={bin_uu_part.name}"), ("Content-Transfer-Encoding", "x-uuencode")], uu_block(bin_uu_part.name, bin_uu_part.data).rstrip(CRLF)),
    ])
    raw = message([("From", "Field Service <field.service@terminals.example>"), ("To", TO), ("Subject", "Terminal dump T-4471 (uuencoded)"), ("Date", date(45, 0)),
                   ("Message-ID", "<45.uu@terminals.example>"), ("MIME-Version", "1.0"), ("X-Mailer", "Pegasus Mail for Windows (4.73)"),
                   ("Content-Type", f"multipart/mixed; boundary={bnd}")], body)
    c.add("x-uuencode-part", "Pegasus-Mail-style part with Content-Transfer-Encoding: x-uuencode (begin 644 … ` … end)",
          raw, ("field.service@terminals.example", "Field Service", "from"), "Terminal dump T-4471 (uuencoded)", [att(bin_uu_part.name, bin_uu_part)], body="Attached is the terminal dump")

    # 046 uuencoded block inside a plain text body --------------------------------------------------
    text = crlf("Hej,\n\nbifogar kvittot som bilaga.\n\n", "ascii") + uu_block(jpg_uu.name, jpg_uu.data) + crlf("\nMvh\nOskar\n", "ascii")
    raw = message([("From", "Oskar Nilsson <oskar.nilsson@telia.example>"), ("To", TO), ("Subject", "Kvitto for kortbetalning"), ("Date", date(46, 1)),
                   ("Message-ID", "<46.uu-body@telia.example>"), ("X-Mailer", "Forte Agent 8.00/32.1186")], text)
    c.add("uuencode-in-text-body", "Usenet-era client (Forte Agent): a uuencoded file pasted into a plain text body without MIME (expected as an attachment)",
          raw, ("oskar.nilsson@telia.example", "Oskar Nilsson", "from"), "Kvitto for kortbetalning", [att(jpg_uu.name, jpg_uu)], body="kvittot som bilaga")

    # 047 Text that looks like uuencode but is not --------------------------------------------------
    raw = message([("From", "Ravi Kumar <ravi.kumar@devmail.example>"), ("To", TO), ("Subject", "chmod question for the export folder"), ("Date", date(47, 1)),
                   ("Message-ID", "<47.fake-uu@devmail.example>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=us-ascii")],
                  crlf("Hi,\n\nthe docs say to run the script like this:\n\nbegin 644 x\nThe export folder must be writable, so the mode 644 is wrong here.\nend of quote\n\nShould it be 755 instead?\n\nRavi\n", "ascii"))
    c.add("fake-begin-644", "Plain text that contains 'begin 644 x' … 'end' but no valid uuencode lines (no attachment expected)",
          raw, ("ravi.kumar@devmail.example", "Ravi Kumar", "from"), "chmod question for the export folder", [], body="so the mode 644 is wrong here")

    # 048 Zero-length attachments (base64 and 7bit) -------------------------------------------------
    m = EmailMessage(policy=SMTP)
    m["From"] = "Backup Robot <backup@nas.example>"
    m["To"] = TO
    m["Subject"] = "Nightly export: no transactions"
    m["Date"] = date(48, 0)
    m["Message-ID"] = "<48.empty@nas.example>"
    m.set_content("The nightly export produced empty files.\n", cte="7bit")
    m.add_attachment(empty.data, maintype="application", subtype="octet-stream", filename="transactions.csv")
    p = EmailMessage(policy=SMTP)  # set_content("") would write a line break: a zero-length 7bit part by hand
    p["Content-Type"] = 'text/plain; charset="us-ascii"'
    p["Content-Disposition"] = 'attachment; filename="errors.log"'
    p["Content-Transfer-Encoding"] = "7bit"
    p.set_payload("")
    m.attach(p)
    m.set_boundary("===============0481112223334445==")
    c.add("zero-length-attachments", "Zero-length attachments: an empty base64 application/octet-stream and an empty 7bit text/plain (built with Python email)",
          py_bytes(m), ("backup@nas.example", "Backup Robot", "from"), "Nightly export: no transactions",
          [att("transactions.csv", empty), att("errors.log", empty)], body="The nightly export produced empty files")

    # 049 Windows path as file name ---------------------------------------------------------------
    bnd = "----=_NextPart_000_0049_01DA9A00.0049ABCD"
    body = multipart(bnd, [
        part([("Content-Type", 'text/plain; charset="us-ascii"'), ("Content-Transfer-Encoding", "7bit")], crlf("Report attached.\n", "ascii")),
        part([("Content-Type", 'application/pdf; name="C:\\\\Users\\\\x\\\\report.pdf"'), ("Content-Transfer-Encoding", "base64"), ("Content-Disposition", 'attachment; filename="C:\\\\Users\\\\x\\\\report.pdf"')], b64(pdf_winpath.data)),
    ], preamble=b"This is a multi-part message in MIME format.\r\n")
    raw = message([("From", "Reporting Tool <reports@legacy-erp.example>"), ("To", TO), ("Subject", "Monthly report (legacy ERP)"), ("Date", date(49, 1)),
                   ("Message-ID", "<49.winpath@legacy-erp.example>"), ("MIME-Version", "1.0"), ("X-Mailer", "Microsoft CDO for Windows 2000"),
                   ("Content-Type", f'multipart/mixed;\r\n\tboundary="{bnd}"')], body)
    c.add("windows-path-filename", "CDO / legacy ERP: the file name is a full Windows path \"C:\\\\Users\\\\x\\\\report.pdf\" (expected report.pdf)",
          raw, ("reports@legacy-erp.example", "Reporting Tool", "from"), "Monthly report (legacy ERP)", [att("report.pdf", pdf_winpath)], body="Report attached")

    # 050 base64 in one long line -------------------------------------------------------------------
    bnd = "webform-050-7d9e"
    body = multipart(bnd, [
        part([("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "base64")], base64.b64encode(crlf("Export attached, generated by the dashboard.\n"))),
        part([("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("Content-Disposition", f'attachment; filename="{xlsx_export.name}"'), ("Content-Transfer-Encoding", "base64")], base64.b64encode(xlsx_export.data)),
    ])
    raw = message([("From", "Dashboard <no-reply@dashboard.example>"), ("To", TO), ("Subject", "Your export is ready"), ("Date", date(50, 0)),
                   ("Message-ID", "<50.export@dashboard.example>"), ("MIME-Version", "1.0"), ("Content-Type", f'multipart/mixed; boundary="{bnd}"')], body)
    c.add("base64-one-line", "Web application mailer writing base64 without line breaks (one long line per part)",
          raw, ("no-reply@dashboard.example", "Dashboard", "from"), "Your export is ready", [att(xlsx_export.name, xlsx_export)], body="Export attached, generated by the dashboard")

    # 051 BASE64 in capitals, lines with trailing whitespace ----------------------------------------
    bnd = "BANKMAIL_051"
    ragged = CRLF.join(l + b" \t" for l in b64(pdf_kontoauszug.data, 60).split(CRLF))
    body = multipart(bnd, [
        part([("Content-Type", "TEXT/PLAIN; CHARSET=ISO-8859-15"), ("Content-Transfer-Encoding", "QUOTED-PRINTABLE")], qp_text("Ihr Kontoauszug für Februar liegt bei. Betrag: 49,90 €\n", "iso-8859-15")),
        part([("Content-Type", 'APPLICATION/PDF; NAME="Kontoauszug_2026_02.pdf"'), ("Content-Transfer-Encoding", "BASE64"), ("Content-Disposition", 'ATTACHMENT; FILENAME="Kontoauszug_2026_02.pdf"')], ragged),
    ])
    raw = message([("FROM", "Sparkasse Beispiel <kontoauszug@sparkasse-beispiel.example>"), ("TO", TO), ("SUBJECT", "Kontoauszug Februar 2026"), ("DATE", date(51, 1)),
                   ("MESSAGE-ID", "<51.KONTO@SPARKASSE-BEISPIEL.EXAMPLE>"), ("MIME-VERSION", "1.0"), ("CONTENT-TYPE", f"MULTIPART/MIXED; BOUNDARY={bnd}"), ("X-MAILER", "HOST MAILER 3.1")],
                  body)
    c.add("uppercase-headers-ragged-base64", "Mainframe-style mailer: header names, types and parameters in capitals, CTE BASE64 with lines padded by trailing spaces/tabs, ISO-8859-15 QP text",
          raw, ("kontoauszug@sparkasse-beispiel.example", "Sparkasse Beispiel", "from"), "Kontoauszug Februar 2026", [att(pdf_kontoauszug.name, pdf_kontoauszug)], body="Ihr Kontoauszug für Februar liegt bei")

    # 052 Random binary octet-stream (Python email) ------------------------------------------------
    m = EmailMessage(policy=SMTP)
    m["From"] = Address("Kassensystem Filiale 12", addr_spec="kasse12@filialen-beispiel.example")
    m["To"] = TO
    m["Subject"] = "Diagnosedaten Kartenleser KL-2"
    m["Date"] = date(52, 1)
    m["Message-ID"] = "<52.diag@filialen-beispiel.example>"
    m["X-Mailer"] = "POS Suite 12.4 (Java Mail 1.6.2)"
    m.set_content("Automatisch erzeugte Diagnosedaten im Anhang.\n", cte="7bit")
    m.add_attachment(bin_firmware.data, maintype="application", subtype="octet-stream", filename=bin_firmware.name)
    m.set_boundary("----=_Part_52_1741900000000")
    c.add("binary-octet-stream", "Point-of-sale system: random binary application/octet-stream (CR, LF, NUL bytes inside) base64 (built with Python email)",
          py_bytes(m), ("kasse12@filialen-beispiel.example", "Kassensystem Filiale 12", "from"), "Diagnosedaten Kartenleser KL-2", [att(bin_firmware.name, bin_firmware)], body="Automatisch erzeugte Diagnosedaten")

    # 053-057 Sender edge cases ---------------------------------------------------------------------
    c.add("from-missing-sender-only", "A ticket bridge that sets only Sender: (no From header)",
          message([("Sender", "Ticket Bridge <bridge@tools.example.com>"), ("To", TO), ("Subject", "Imported issue #8812: app crash on login"), ("Date", date(53, 0)),
                   ("Message-ID", "<53.bridge@tools.example.com>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8")],
                  crlf("The app crashes on login since version 4.2 (imported from the issue tracker).\n")),
          ("bridge@tools.example.com", "Ticket Bridge", "sender"), "Imported issue #8812: app crash on login", [], body="The app crashes on login since version 4.2")
    c.add("from-empty-address-reply-to", "From with a display name and an empty address \"Petra Klein\" <>, the real address in Reply-To",
          message([("From", '"Petra Klein" <>'), ("Reply-To", "Petra Klein <petra.klein@example.org>"), ("To", TO), ("Subject", "Kein Zugang mehr zum Konto"), ("Date", date(54, 1)),
                   ("Message-ID", "<54.petra@example.org>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "8bit")],
                  crlf("Seit gestern komme ich nicht mehr in mein Konto.\nPetra Klein\n")),
          ("petra.klein@example.org", "Petra Klein", "reply-to"), "Kein Zugang mehr zum Konto", [], body="komme ich nicht mehr in mein Konto")
    c.add("from-unparseable-sender", "An unparseable From (a name with no address) with a valid Sender",
          message([("From", "Kundenservice Team (no address given)"), ("Sender", "Max Mustermann <max.mustermann@example.com>"), ("To", TO), ("Subject", ew_q("Rückruf erbeten")), ("Date", date(55, 1)),
                   ("Message-ID", "<55.max@example.com>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "8bit")],
                  crlf("Bitte rufen Sie mich wegen der Abrechnung zurück.\nMax Mustermann\n")),
          ("max.mustermann@example.com", "Max Mustermann", "sender"), "Rückruf erbeten", [], body="wegen der Abrechnung zurück")
    c.add("two-from-headers", "Two From headers (a broken script adds its own): the first, valid one is the sender",
          message([("From", "Lena Vogel <lena.vogel@example.com>"), ("From", '"Support Desk" <spoof@attacker.example>'), ("To", TO), ("Subject", "Karte gesperrt nach Auslandseinsatz"),
                   ("Date", date(56, 1)), ("Message-ID", "<56.lena@example.com>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "8bit")],
                  crlf("Meine Karte wurde nach einer Zahlung in Italien gesperrt.\nLena Vogel\n")),
          ("lena.vogel@example.com", "Lena Vogel", "from"), "Karte gesperrt nach Auslandseinsatz", [], body="nach einer Zahlung in Italien gesperrt")
    c.add("no-address-anywhere", "No sender address anywhere: From: undisclosed-sender:; (an empty group), no Sender, no Reply-To",
          message([("From", "undisclosed-sender:;"), ("To", "undisclosed-recipients:;"), ("Subject", "Anonymous complaint about branch 7"), ("Date", date(57, 1)),
                   ("Message-ID", "<57.anon@relay.example>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=us-ascii")],
                  crlf("The card terminal in branch 7 has been broken for two weeks.\n", "ascii")),
          ("unknown-sender@invalid", None, "none"), "Anonymous complaint about branch 7", [], body="has been broken for two weeks")

    # 058 / 059 Two different mails with the same Message-ID ----------------------------------------
    dup_id = "<CAF7x2kLm9Q3pR8vYt1Zw4Nc6Hb0Jd5Sg@mail.gmail.example>"
    files = []
    for n, k, text in [(58, 1, "Überweisung 1 an den Händler ist fehlgeschlagen."), (59, 2, "Auch Überweisung 2 ist fehlgeschlagen, gleicher Fehler.")]:
        m = EmailMessage(policy=SMTP)
        m["From"] = Address("Tom Baker", addr_spec="tom.baker@example.com")
        m["To"] = TO
        m["Subject"] = f"Überweisung {k} fehlgeschlagen"
        m["Date"] = date(n, 1)
        m["Message-ID"] = dup_id
        m["X-Mailer"] = "MobileMail 3.2 (Android)"
        m.set_content(text + "\n", cte="quoted-printable")
        files.append((n, k, m, text))
    first = len(c.mails) + 1
    names = [f"{first:03d}-dup-message-id-first.eml", f"{first + 1:03d}-dup-message-id-second.eml"]
    for (n, k, m, text), other in zip(files, reversed(names)):
        c.add(f"dup-message-id-{'first' if k == 1 else 'second'}", "A phone mailer reusing one Message-ID for two different mails (both must land as separate messages; built with Python email)",
              py_bytes(m), ("tom.baker@example.com", "Tom Baker", "from"), f"Überweisung {k} fehlgeschlagen", [], body=text[:40], same=other)

    # 060 Backscatter: Postfix DSN for a message we never sent ---------------------------------------
    returned = crlf(
        "Received: from bulk.example (unknown [203.0.113.77])\n\tby mx1.mail-relay.example (Postfix) with ESMTP id 8F3A21C0F4\n\tfor <xk4q9@nonexistent-domain.example>; Sat, 14 Mar 2026 12:00:31 +0100 (CET)\n"
        "From: \"Wallet Support\" <support@wallet.test>\nTo: xk4q9@nonexistent-domain.example\nSubject: Your account has been suspended - verify now\n"
        "Message-ID: <spam-20260314-77a1@bulk.example>\nDate: Sat, 14 Mar 2026 11:59:58 +0100\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
        "Click here to verify your account within 24 hours.\n", "ascii")
    returned_src = S("backscatter-returned-message.eml", returned)
    dsn = crlf("Reporting-MTA: dns; mx1.mail-relay.example\nX-Postfix-Queue-ID: 8F3A21C0F4\nX-Postfix-Sender: rfc822; support@wallet.test\nArrival-Date: Sat, 14 Mar 2026 12:00:31 +0100 (CET)\n\n"
               "Final-Recipient: rfc822; xk4q9@nonexistent-domain.example\nOriginal-Recipient: rfc822;xk4q9@nonexistent-domain.example\nAction: failed\nStatus: 5.1.1\n"
               "Remote-MTA: dns; mx.nonexistent-domain.example\nDiagnostic-Code: smtp; 550 5.1.1 <xk4q9@nonexistent-domain.example>: Recipient\n    address rejected: User unknown in virtual mailbox table\n", "ascii")
    dsn_src = S("backscatter-delivery-status.txt", dsn)
    bnd = "8F3A21C0F4.1741951234/mx1.mail-relay.example"
    body = multipart(bnd, [
        part([("Content-Description", "Notification"), ("Content-Type", "text/plain; charset=us-ascii")],
             crlf("This is the mail system at host mx1.mail-relay.example.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\n"
                  "                   The mail system\n\n<xk4q9@nonexistent-domain.example>: host mx.nonexistent-domain.example said: 550 5.1.1 User unknown\n", "ascii")),
        part([("Content-Description", "Delivery report"), ("Content-Type", "message/delivery-status")], dsn_src.data),
        part([("Content-Description", "Undelivered Message"), ("Content-Type", "message/rfc822")], returned_src.data),
    ], preamble=b"This is a MIME-encapsulated message.\r\n")
    raw = message([
        ("Return-Path", "<>"), ("Received", "by mx1.mail-relay.example (Postfix)\r\n\tid 8F3A21C0F5; Sat, 14 Mar 2026 12:00:34 +0100 (CET)"),
        ("Date", "Sat, 14 Mar 2026 12:00:34 +0100 (CET)"), ("From", "MAILER-DAEMON@mx1.mail-relay.example (Mail Delivery System)"),
        ("Subject", "Undelivered Mail Returned to Sender"), ("To", TO), ("Auto-Submitted", "auto-replied"), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/report; report-type=delivery-status;\r\n\tboundary="{bnd}"'), ("Content-Transfer-Encoding", "8bit"),
        ("Message-Id", "<20260314110034.8F3A21C0F5@mx1.mail-relay.example>"),
    ], body)
    c.add("backscatter-postfix-dsn", "Spam backscatter: Postfix multipart/report delivery-status (null Return-Path) for a forged mail we never sent, returned message attached",
          raw, ("MAILER-DAEMON@mx1.mail-relay.example", "Mail Delivery System", "from"), "Undelivered Mail Returned to Sender",
          [att("delivery-status.txt", dsn_src), att("Your account has been suspended - verify now.eml", returned_src)], suppressed="backscatter", body="your message could not")

    # 061 Backscatter: Exim DSN with text/rfc822-headers --------------------------------------------
    dsn2 = crlf("Reporting-MTA: dns; smtp.hosting-provider.example\n\nAction: failed\nFinal-Recipient: rfc822;a.b@unknown.example\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 No such user here\n", "ascii")
    dsn2_src = S("exim-delivery-status.txt", dsn2)
    hdrs2 = crlf("Received: from [198.51.100.23] (helo=bulk-sender.example)\n\tby smtp.hosting-provider.example with esmtp (Exim 4.96)\nFrom: Prize Desk <support@wallet.test>\n"
                 "To: a.b@unknown.example\nSubject: Claim your reward\nMessage-ID: <reward-5510@bulk-sender.example>\nDate: Sun, 15 Mar 2026 07:12:40 +0000\n", "ascii")
    hdrs2_src = S("exim-rfc822-headers.txt", hdrs2)
    bnd = "1741953000-eximdsn-1804289383"
    body = multipart(bnd, [
        part([("Content-type", "text/plain; charset=us-ascii")], crlf("This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error.\n\n  a.b@unknown.example\n    No such user here\n", "ascii")),
        part([("Content-type", "message/delivery-status")], dsn2_src.data),
        part([("Content-type", "text/rfc822-headers")], hdrs2_src.data),
    ])
    raw = message([
        ("Return-path", "<>"), ("X-Failed-Recipients", "a.b@unknown.example"), ("Auto-Submitted", "auto-replied"),
        ("From", "Mail Delivery System <Mailer-Daemon@smtp.hosting-provider.example>"), ("To", TO),
        ("Content-Type", f"multipart/report; report-type=delivery-status; boundary={bnd}"), ("MIME-Version", "1.0"),
        ("Subject", "Mail delivery failed: returning message to sender"), ("Message-Id", "<E1uDSN7-0004Xy-Ab@smtp.hosting-provider.example>"), ("Date", "Sun, 15 Mar 2026 07:12:41 +0000"),
    ], body)
    c.add("backscatter-exim-dsn-headers", "Spam backscatter: Exim multipart/report with message/delivery-status and text/rfc822-headers (only the returned headers)",
          raw, ("Mailer-Daemon@smtp.hosting-provider.example", "Mail Delivery System", "from"), "Mail delivery failed: returning message to sender",
          [att("delivery-status.txt", dsn2_src), att("rfc822-headers.txt", hdrs2_src)], suppressed="backscatter", body="could not be delivered to one or more of its")

    # 062 Plain MAILER-DAEMON bounce without a report --------------------------------------------------
    raw = message([
        ("Return-Path", "<>"), ("From", "Mail Delivery Subsystem <MAILER-DAEMON@relay.isp.example>"), ("To", TO), ("X-Failed-Recipients", "c.d@gone.example"),
        ("Subject", "Returned mail: see transcript for details"), ("Date", "Sun, 15 Mar 2026 09:40:02 +0100"), ("Message-ID", "<202603150840.5AB8e2XL009911@relay.isp.example>"),
        ("Auto-Submitted", "auto-generated (failure)"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=us-ascii"),
    ], crlf("This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its recipients.\n\n  c.d@gone.example\n    SMTP error from remote mail server after RCPT TO:<c.d@gone.example>:\n    550 mailbox unavailable\n\n"
            "------ This is a copy of the message, including all the headers. ------\n\nFrom: Wallet Support <support@wallet.test>\nTo: c.d@gone.example\nSubject: Cheap watches\nMessage-ID: <watches-1@spam.example>\n\nBuy now.\n", "ascii"))
    c.add("mailer-daemon-plain-bounce", "Sendmail/Exim-style plain-text bounce from MAILER-DAEMON with X-Failed-Recipients and the spam copy inline, no multipart/report",
          raw, ("MAILER-DAEMON@relay.isp.example", "Mail Delivery Subsystem", "from"), "Returned mail: see transcript for details", [], suppressed="backscatter",
          body="This message was created automatically by mail delivery software")

    # 063 Spam flagged upstream ---------------------------------------------------------------------
    raw = message([
        ("Return-Path", "<bounce-77@promo-winner.example>"), ("X-Spam-Flag", "YES"), ("X-Spam-Level", "**************"),
        ("X-Spam-Status", "Yes, score=14.2 required=5.0 tests=BAYES_99,HTML_MESSAGE,\r\n\tMISSING_MID_FQDN,RCVD_IN_SBL_CSS,URIBL_BLACK autolearn=spam version=3.4.6"),
        ("From", '"Rewards Center" <rewards@promo-winner.example>'), ("To", TO), ("Subject", "[SPAM] Congratulations! Your gift card is waiting"),
        ("Date", date(63, 0)), ("Message-ID", "<63.gift@promo-winner.example>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=us-ascii"),
    ], crlf("You have been selected to receive a gift card. Claim it now at http://promo-winner.example/claim\n", "ascii"))
    c.add("spam-flag-yes", "SpamAssassin-tagged mail: X-Spam-Flag: YES, X-Spam-Status, [SPAM] subject tag",
          raw, ("rewards@promo-winner.example", "Rewards Center", "from"), "[SPAM] Congratulations! Your gift card is waiting", [], suppressed="spam", body="You have been selected to receive a gift card")

    # 064 related > alternative > mixed nesting ---------------------------------------------------
    br, ba, bm = "Apple-Mail=_R64-1111", "Apple-Mail=_A64-2222", "Apple-Mail=_M64-3333"
    mixed = multipart(bm, [
        part([("Content-Transfer-Encoding", "7bit"), ("Content-Type", "text/html; charset=us-ascii")], b'<html><body><img src="cid:logo.gif@64"><p>Die Anleitung f&uuml;r den Kartenleser liegt hier:</p>'),
        part([("Content-Disposition", f'inline; filename="{pdf_nested_alt.name}"'), ("Content-Type", f'application/pdf; name="{pdf_nested_alt.name}"'), ("Content-Transfer-Encoding", "base64")], b64(pdf_nested_alt.data)),
        part([("Content-Transfer-Encoding", "7bit"), ("Content-Type", "text/html; charset=us-ascii")], b"<p>Bitte an alle Filialen verteilen.</p></body></html>"),
    ])
    alt = multipart(ba, [
        part([("Content-Transfer-Encoding", "7bit"), ("Content-Type", "text/plain; charset=us-ascii")], crlf("Die Anleitung fuer den Kartenleser liegt hier:\n\nBitte an alle Filialen verteilen.\n", "ascii")),
        part([("Content-Type", f'multipart/mixed; boundary="{bm}"')], mixed),
    ])
    body = multipart(br, [
        part([("Content-Type", f'multipart/alternative; boundary="{ba}"')], alt),
        part([("Content-Transfer-Encoding", "base64"), ("Content-Disposition", 'inline; filename="logo.gif"'), ("Content-Type", 'image/gif; name="logo.gif"'), ("Content-Id", "<logo.gif@64>")], b64(gif_logo.data)),
    ])
    raw = message([("From", "Regionalleitung Nord <regional.nord@filialen-beispiel.example>"), ("To", TO), ("Subject", ew_q("Anleitung Kartenleser KL-2 für alle Filialen")),
                   ("Date", date(64, 1)), ("Message-Id", "<64.nested@filialen-beispiel.example>"), ("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))"),
                   ("Content-Type", f'multipart/related; type="multipart/alternative"; boundary="{br}"'), ("X-Mailer", "Apple Mail (2.3774.600.62)")], body)
    c.add("related-alternative-mixed-nested", "Apple Mail with a signature logo: related > [alternative > [text, mixed > [html, inline PDF, html]], image/gif by cid]",
          raw, ("regional.nord@filialen-beispiel.example", "Regionalleitung Nord", "from"), "Anleitung Kartenleser KL-2 für alle Filialen",
          [att(pdf_nested_alt.name, pdf_nested_alt), att("logo.gif", gif_logo)], body="Bitte an alle Filialen verteilen")

    # 065 Whole mail is a PDF (scanner) -------------------------------------------------------------
    raw = message([("From", '"Canon iR-ADV C5535" <scanner@buero-mueller.example>'), ("To", TO), ("Subject", "Attached Image"), ("Date", date(65, 1)),
                   ("Message-ID", "<65.20260315104512@buero-mueller.example>"), ("MIME-Version", "1.0"), ("X-Mailer", "Canon iR-ADV C5535 Send Function"),
                   ("Content-Type", f'application/pdf; name="{pdf_scanner.name}"'), ("Content-Disposition", f'attachment; filename="{pdf_scanner.name}"'), ("Content-Transfer-Encoding", "base64")],
                  b64(pdf_scanner.data) + CRLF)
    c.add("toplevel-pdf-scanner", "Scan-to-mail from a multifunction printer: the whole body is application/pdf (no multipart, no text)",
          raw, ("scanner@buero-mueller.example", "Canon iR-ADV C5535", "from"), "Attached Image", [att(pdf_scanner.name, pdf_scanner)], body=None)

    # 066 HTML only, windows-1252 QP ---------------------------------------------------------------
    html = ('<!DOCTYPE html><html><head><meta charset="windows-1252"><title>R&uuml;ckrufbitte</title></head><body>'
            "<table><tr><td><p>Ihre Rückrufbitte vom 16.03. wurde an das Team Zahlungen weitergeleitet.</p><p>Grüße, Ihr Kundenportal</p></td></tr></table></body></html>")
    raw = message([("From", "Kundenportal <portal@crm-beispiel.example>"), ("To", TO), ("Subject", ew_q("Rückrufbitte weitergeleitet", "windows-1252")),
                   ("Date", date(66, 1)), ("Message-ID", "<66.portal@crm-beispiel.example>"), ("MIME-Version", "1.0"),
                   ("Content-Type", 'text/html; charset="windows-1252"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_text(html, "cp1252"))
    c.add("html-only-windows-1252", "CRM notification: text/html only (no text alternative), windows-1252 quoted-printable",
          raw, ("portal@crm-beispiel.example", "Kundenportal", "from"), "Rückrufbitte weitergeleitet", [], body="an das Team Zahlungen weitergeleitet")

    # 067 No CRLF after the last line ---------------------------------------------------------------
    bnd = "nofinal-067"
    body = multipart(bnd, [
        part([("Content-Type", "text/plain; charset=us-ascii")], crlf("Log excerpt from this morning attached.\n", "ascii")),
        part([("Content-Type", 'text/plain; charset=us-ascii; name="log-excerpt.txt"'), ("Content-Disposition", 'attachment; filename="log-excerpt.txt"')], txt_noeol.data),
    ]).rstrip(CRLF)
    raw = message([("From", "Ops Monitor <ops-monitor@terminals.example>"), ("To", TO), ("Subject", "Reader reconnects at branch 12"), ("Date", date(67, 0)),
                   ("Message-ID", "<67.nofinal@terminals.example>"), ("MIME-Version", "1.0"), ("Content-Type", f"multipart/mixed; boundary={bnd}")], body)
    assert not raw.endswith(b"\n")
    c.add("no-final-crlf", "A script that writes no line break after the closing boundary (the mail's last line has no CRLF); text attachment ending without newline",
          raw, ("ops-monitor@terminals.example", "Ops Monitor", "from"), "Reader reconnects at branch 12", [att(txt_noeol.name, txt_noeol)], body="Log excerpt from this morning attached")

    # 068 ESP transactional mail (Python email) ------------------------------------------------------
    m = EmailMessage(policy=SMTP)
    m["From"] = Address("Stadtwerke Beispielstadt", addr_spec="rechnung@stadtwerke-beispiel.example")
    m["To"] = TO
    m["Subject"] = "Ihre Rechnung RE-2026-0456"
    m["Date"] = date(68, 0)
    m["Message-ID"] = "<Xs9Fq2LwTz6Nc1Rv8Kp3Ym@geopod-ismtpd-12.example>"
    m["X-SG-EID"] = "u001.b3Jk5Zx7Qm2Nc9Wv4Lp8Ty1Hs6Gd0Fa"
    m["List-Unsubscribe"] = "<mailto:unsubscribe@sendgrid.example?subject=RE-2026-0456>"
    m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    m.set_content("Guten Tag,\nanbei Ihre Rechnung RE-2026-0456 über 84,12 EUR.\n", cte="quoted-printable")
    m.add_alternative("<html><body><p>Guten Tag,</p><p>anbei Ihre Rechnung RE-2026-0456 über 84,12 EUR.</p></body></html>\n", subtype="html", cte="quoted-printable")
    m.add_attachment(pdf_sendgrid.data, maintype="application", subtype="pdf", filename=pdf_sendgrid.name)
    m.set_boundary("68f2a1b3c4d5e6f708192a3b4c5d6e7f")
    list(m.iter_parts())[0].set_boundary("68f2a1b3c4d5e6f708192a3b4c5d6e80")
    c.add("esp-transactional-invoice", "Transactional mail through an email service provider (SendGrid-like): List-Unsubscribe, alternative QP + PDF invoice (built with Python email)",
          py_bytes(m), ("rechnung@stadtwerke-beispiel.example", "Stadtwerke Beispielstadt", "from"), "Ihre Rechnung RE-2026-0456", [att(pdf_sendgrid.name, pdf_sendgrid)], body="anbei Ihre Rechnung RE-2026-0456")

    # 069 Parts without Content-Type -----------------------------------------------------------------
    bnd = "minimal-069"
    body = multipart(bnd, [
        part([], crlf("See the attached readme for the steps.\n", "ascii")),
        part([("Content-Disposition", 'attachment; filename="readme.txt"')], txt_readme.data),
    ])
    raw = message([("From", "QA Script <qa-bot@ci.example>"), ("To", TO), ("Subject", "Repro steps for payment button"), ("Date", date(69, 0)),
                   ("Message-ID", "<69.minimal@ci.example>"), ("MIME-Version", "1.0"), ("Content-Type", f"multipart/mixed; boundary={bnd}")], body)
    c.add("parts-without-content-type", "Minimal scripted mailer: body parts without Content-Type (default text/plain us-ascii), the attachment carries only Content-Disposition",
          raw, ("qa-bot@ci.example", "QA Script", "from"), "Repro steps for payment button", [att(txt_readme.name, txt_readme)], body="See the attached readme for the steps")

    # 070 Outlook 2007: iso-8859-1 Q encoded-word file name ------------------------------------------
    bnd = "----=_NextPart_000_0015_01DA8E45.6B7C8D90"
    qn = ew_q(pdf_outlook12.name, "iso-8859-1")
    body = multipart(bnd, [
        part([("Content-Type", 'text/plain;\r\n\tcharset="iso-8859-1"'), ("Content-Transfer-Encoding", "quoted-printable")], qp_text("Hallo,\n\nanbei die Bestellbestätigung.\n\nGruß\nWerner Haas\n", "iso-8859-1")),
        part([("Content-Type", f'application/pdf;\r\n\tname="{qn}"'), ("Content-Transfer-Encoding", "base64"), ("Content-Disposition", f'attachment;\r\n\tfilename="{qn}"')], b64(pdf_outlook12.data)),
    ], preamble=b"This is a multi-part message in MIME format.\r\n")
    raw = message([("From", '"Werner Haas" <w.haas@haas-elektro.example>'), ("To", "<support@wallet.test>"), ("Subject", ew_q("Bestellbestätigung", "iso-8859-1")),
                   ("Date", date(70, 1)), ("Message-ID", "<000f01da8e45$6b7c8d90$42758eb0$@haas-elektro.example>"), ("MIME-Version", "1.0"),
                   ("Content-Type", f'multipart/mixed;\r\n\tboundary="{bnd}"'), ("X-Mailer", "Microsoft Office Outlook 12.0"), ("Thread-Index", "AcqORWt8jZBCdY6wQ3e2Lz8Kk1mN7Q=="), ("Content-Language", "de")], body)
    c.add("outlook2007-q-encoded-filename", "Outlook 2007: iso-8859-1 Q encoded word inside quoted name=/filename=, ----=_NextPart_ boundary, preamble",
          raw, ("w.haas@haas-elektro.example", "Werner Haas", "from"), "Bestellbestätigung", [att(pdf_outlook12.name, pdf_outlook12)], body="anbei die Bestellbestätigung")

    return c


# ---------------------------------------------------------------------------------------------
# Self-check with Python's parser: each plainly encoded part decodes to its source's bytes
# ---------------------------------------------------------------------------------------------

DERIVED = ("delivery-status.txt", "rfc822-headers.txt", ".eml")


def self_check(c: Corpus):
    subjects, ids = {}, {}
    for e in c.mails:
        raw = open(os.path.join(c.out, "mails", e["file"]), "rb").read()
        assert b"\x00" not in raw, e["file"]  # an IMAP server refuses NUL in a literal
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
        decoded = set()
        for p in msg.walk():
            if p.is_multipart() or p.get_content_type() == "message/rfc822":
                continue
            if (p.get("Content-Transfer-Encoding") or "").strip().lower() == "quoted-printable":
                enc = p.get_payload(decode=False).encode("latin-1").replace(CRLF, b"\n").replace(b"\n", CRLF)
                payload = qp_decode_strict(enc)
            else:
                payload = p.get_payload(decode=True)
            if payload is not None:
                decoded.add(hashlib.sha256(payload).hexdigest())
        for a in e["attachments"]:
            fn = a["filename"]
            if fn.endswith(DERIVED) or fn in TNEF_INNER or e["file"].endswith("uuencode-in-text-body.eml"):
                continue
            assert a["sha256"] in decoded, (e["file"], fn)
        mid = msg.get("Message-ID")
        if mid:
            ids.setdefault(mid.strip(), []).append(e)
        else:
            assert e["subject"] is not None, e["file"]
        if e["subject"] is not None:
            assert e["subject"] not in subjects, (e["file"], subjects.get(e["subject"]))
            subjects[e["subject"]] = e["file"]
    for mid, group in ids.items():
        if len(group) > 1:
            files = {g["file"] for g in group}
            assert all(g["sameMessageIdAs"] in files - {g["file"]} for g in group), mid


TNEF_INNER = {"Quarterly Report 2026 - Final.pdf", "meeting-notes-march-2026.txt", "Überweisungsbeleg März.pdf", "Lageplan Halle 3.png"}


def write(out: str):
    for d in ("sources", "mails"):
        shutil.rmtree(os.path.join(out, d), ignore_errors=True)
    c = build(out)
    self_check(c)
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(c.mails, f, ensure_ascii=False, indent=2)
        f.write("\n")
    return c


def tree(root: str):
    files = {}
    for d in ("sources", "mails"):
        for name in sorted(os.listdir(os.path.join(root, d))):
            files[f"{d}/{name}"] = open(os.path.join(root, d, name), "rb").read()
    files["expected.json"] = open(os.path.join(root, "expected.json"), "rb").read()
    return files


def main():
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            write(tmp)
            fresh, committed = tree(tmp), tree(HERE)
        diff = sorted(k for k in set(fresh) | set(committed) if fresh.get(k) != committed.get(k))
        if diff:
            print("corpus differs from build.py output:\n  " + "\n  ".join(diff))
            sys.exit(1)
        print(f"corpus up to date ({len(fresh)} files)")
        return
    c = write(HERE)
    size = sum(len(s.data) for s in c.sources.values()) + sum(os.path.getsize(os.path.join(HERE, "mails", m["file"])) for m in c.mails)
    print(f"{len(c.mails)} mails, {len(c.sources)} source files, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
