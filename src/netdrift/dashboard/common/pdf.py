"""A minimal PDF writer: A4 pages of wrapped Helvetica text, headings and PNG images, with the text
kept as text (searchable, copyable). Enough for a one-event report, with no PDF library installed.

Text is written in WinAnsi (cp1252): arrows and other characters outside it become ASCII ("->").
"""

from __future__ import annotations

import io
import textwrap
import zlib

__all__ = ["PdfDocument", "pdf_text"]

PAGE_W, PAGE_H, MARGIN = 595.0, 842.0, 42.0
_REPLACE = {"\u2192": "->", "\u2190": "<-", "\u2194": "<->", "\u2212": "-", "\u2009": " ", "\u202f": " ",
            "\u2248": "~", "\u2265": ">=", "\u2264": "<="}


def pdf_text(text: str) -> bytes:
    r"""``text`` as a PDF string literal's bytes in WinAnsi, parentheses and backslashes escaped.

    >>> pdf_text("AT \u2192 DE (x)") == b"(AT -> DE \\(x\\))"
    True
    """
    for a, b in _REPLACE.items():
        text = text.replace(a, b)
    raw = text.encode("cp1252", errors="replace")
    raw = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + raw + b")"


class PdfDocument:
    """Flowing layout top to bottom, a new page when the current one is full."""

    def __init__(self, title: str = "netdrift") -> None:
        self.title = title
        self.pages: list[list[bytes]] = [[]]
        self.images: list[tuple[int, int, bytes]] = []  # (width px, height px, zlib'd RGB)
        self.page_images: list[list[int]] = [[]]
        self.y = PAGE_H - MARGIN

    def _room(self, height: float) -> None:
        if self.y - height < MARGIN:
            self.pages.append([])
            self.page_images.append([])
            self.y = PAGE_H - MARGIN

    def _line(self, text: str, size: float, bold: bool = False) -> None:
        lead = size * 1.35
        self._room(lead)
        self.y -= lead
        font = b"/F2" if bold else b"/F1"
        self.pages[-1].append(b"BT " + font + b" %.1f Tf %.1f %.1f Td " % (size, MARGIN, self.y) + pdf_text(text) + b" Tj ET")

    def heading(self, text: str, size: float = 14.0) -> None:
        """A bold line with a little space above it."""
        self.y -= size * 0.5
        for line in textwrap.wrap(text, int((PAGE_W - 2 * MARGIN) / (size * 0.55))) or [""]:
            self._line(line, size, bold=True)

    def text(self, text: str, size: float = 10.0) -> None:
        """A paragraph, wrapped to the page width."""
        for line in textwrap.wrap(text, int((PAGE_W - 2 * MARGIN) / (size * 0.5))) or [""]:
            self._line(line, size)

    def image(self, png: bytes, max_height: float = 420.0) -> None:
        """A PNG image, as wide as the page allows (at most ``max_height`` points tall)."""
        from PIL import Image

        with Image.open(io.BytesIO(png)) as img:
            rgb = img.convert("RGB")
        w, h = rgb.size
        scale = min((PAGE_W - 2 * MARGIN) / w, max_height / h)
        dw, dh = w * scale, h * scale
        self._room(dh + 6)
        self.y -= dh + 6
        self.images.append((w, h, zlib.compress(rgb.tobytes(), 6)))
        n = len(self.images)
        self.page_images[-1].append(n)
        self.pages[-1].append(b"q %.2f 0 0 %.2f %.2f %.2f cm /Im%d Do Q" % (dw, dh, MARGIN, self.y, n))

    def build(self) -> bytes:
        """The PDF file's bytes."""
        objects: list[bytes] = []

        def add(body: bytes) -> int:
            objects.append(body)
            return len(objects)

        add(b"")  # 1: catalog, filled last
        add(b"")  # 2: page tree, filled last
        f1 = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        f2 = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
        image_ids = [add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                         b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % (w, h, len(data))
                         + data + b"\nendstream") for w, h, data in self.images]
        kids = []
        for ops, imgs in zip(self.pages, self.page_images):
            content = b"\n".join(ops)
            cid = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
            xobj = b" ".join(b"/Im%d %d 0 R" % (i, image_ids[i - 1]) for i in imgs)
            kids.append(add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                            b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> /XObject << %s >> >> >>"
                            % (PAGE_W, PAGE_H, cid, f1, f2, xobj)))
        info = add(b"<< /Title " + pdf_text(self.title) + b" /Producer (netdrift) >>")
        objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
        objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
        return bytes(out)
