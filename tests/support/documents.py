"""Real documents made on the spot for the extraction tests: PDFs, scans, photos, Word files, text.

Every helper writes a genuine file of its kind (a PDF with a text layer, an
image-only PDF, a PNG that claims 20,000 x 20,000 pixels, ...) so the tests
exercise the same libraries and code paths an upload would. Text drawn on
images uses DejaVu Sans Bold when the system has it, so OCR sees large, clear
letters.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
STRIP_SIZE = (800, 200)
PDF_PASSWORD = "s3cret"


def font(size: int = 40) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A large TrueType font, so OCR reads the words reliably on any machine that has one."""
    if FONT_PATH.exists():
        return ImageFont.truetype(str(FONT_PATH), size)
    return ImageFont.load_default(size=size)


def text_image(lines: Sequence[str], size: tuple[int, int] = STRIP_SIZE, font_size: int = 40) -> Image.Image:
    """Black words on white, one line under the other, like a clean scan."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    face = font(font_size)
    for index, line in enumerate(lines):
        draw.text((30, 30 + index * int(font_size * 1.8)), line, font=face, fill="black")
    return image


def make_layout_png(path: Path, placements: Sequence[tuple[int, int, str]], size: tuple[int, int] = STRIP_SIZE) -> Path:
    """Words at chosen (x, y) spots, to check that OCR returns them in reading order."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    face = font(40)
    for x, y, text in placements:
        draw.text((x, y), text, font=face, fill="black")
    image.save(path, "PNG")
    return path


def make_scan_png(path: Path, lines: Sequence[str], size: tuple[int, int] = STRIP_SIZE, font_size: int = 40) -> Path:
    text_image(lines, size, font_size).save(path, "PNG")
    return path


def make_scan_jpeg(path: Path, lines: Sequence[str], size: tuple[int, int] = STRIP_SIZE, font_size: int = 40) -> Path:
    text_image(lines, size, font_size).save(path, "JPEG", quality=90)
    return path


def make_scan_webp(path: Path, lines: Sequence[str], size: tuple[int, int] = STRIP_SIZE) -> Path:
    text_image(lines, size).save(path, "WEBP", quality=90)
    return path


def make_multipage_tiff(path: Path, pages: Sequence[Sequence[str]]) -> Path:
    """One frame per entry, as a fax or a multi-page scanner writes them."""
    frames = [text_image(lines).convert("L") for lines in pages]
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    return path


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252), with its delimiters escaped."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_pdf_bytes(pages: Sequence[Sequence[str]]) -> bytes:
    """A minimal, valid PDF whose pages carry real text (Helvetica), one list of lines per page."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in once the page numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    page_numbers = []
    for lines in pages:
        content = b"BT /F1 14 Tf 72 770 Td 18 TL " + b" ".join(_pdf_string(line) + b" Tj T*" for line in lines) + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        content_number = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_number
        )
        page_numbers.append(len(objects))
    kids = b" ".join(b"%d 0 R" % number for number in page_numbers)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_numbers))

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)


def make_text_pdf(path: Path, lines: Sequence[str], pages: int = 1) -> Path:
    """A PDF with a text layer; with pages > 1 every page repeats the lines after a 'Page N' line."""
    if pages == 1:
        path.write_bytes(text_pdf_bytes([lines]))
    else:
        path.write_bytes(text_pdf_bytes([[f"Page {n}", *lines] for n in range(1, pages + 1)]))
    return path


def make_scanned_pdf(path: Path, lines: Sequence[str], size: tuple[int, int] = (1240, 500), dpi: int = 150) -> Path:
    """An image-only PDF, as a scanner writes it: one picture of the page and no text layer."""
    text_image(lines, size, font_size=48).save(path, "PDF", resolution=float(dpi))
    return path


def make_mixed_pdf(path: Path, text_lines: Sequence[str], scanned_lines: Sequence[str]) -> Path:
    """Page 1 has a text layer, page 2 is a scan: a typed letter with a scanned attachment."""
    scanned = make_scanned_pdf(path.with_suffix(".scan.pdf"), scanned_lines)
    writer = PdfWriter()
    writer.append(_reader_from_bytes(text_pdf_bytes([text_lines])))
    with scanned.open("rb") as handle:
        writer.append(PdfReader(handle))
        with path.open("wb") as out:
            writer.write(out)
    scanned.unlink()
    return path


def _reader_from_bytes(data: bytes) -> PdfReader:
    return PdfReader(BytesIO(data))


def make_encrypted_pdf(path: Path, lines: Sequence[str], user_password: str = PDF_PASSWORD) -> Path:
    """A PDF locked with RC4-128 (which pypdf handles without extra packages).

    An empty user password gives the common 'owner password only' PDF that opens without asking.
    """
    writer = PdfWriter(clone_from=_reader_from_bytes(text_pdf_bytes([lines])))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    with path.open("wb") as out:
        writer.write(out)
    return path


def make_truncated_pdf(path: Path, lines: Sequence[str], pages: int = 3) -> Path:
    """A real PDF cut in half, as an interrupted download leaves it."""
    data = text_pdf_bytes([[f"Page {n}", *lines] for n in range(1, pages + 1)])
    path.write_bytes(data[: len(data) // 2])
    return path


def make_garbage_pdf(path: Path) -> Path:
    """A PDF header followed by noise: what a mislabelled or overwritten file looks like."""
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    return path


def make_text_file(path: Path, text: str, encoding: str) -> Path:
    """Text saved the way a given program would: 'utf-16' writes a BOM, 'cp1252' is old Windows."""
    path.write_bytes(text.encode(encoding))
    return path


def make_docx(
    path: Path, paragraphs: Sequence[str], table: Sequence[Sequence[str]] = (), *, title_row: str | None = None
) -> Path:
    """A Word document: the paragraphs, then a table with the given rows, then a closing paragraph.

    `title_row` adds a first table row made of all its cells merged into one, as tables often start.
    """
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        offset = 1 if title_row else 0
        grid = document.add_table(rows=len(table) + offset, cols=len(table[0]))
        if title_row:
            merged = grid.rows[0].cells[0].merge(grid.rows[0].cells[-1])
            merged.text = title_row
        for row, values in zip(grid.rows[offset:], table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    document.add_paragraph("End of document")
    document.save(str(path))
    return path


def make_decompression_bomb_png(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A valid 1-bit PNG of width x height white pixels: tens of kilobytes on disk, gigabytes if decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte, then 8 pixels a byte
    compressor = zlib.compressobj(9)
    block = row * 500
    parts = [compressor.compress(block) for _ in range(height // 500)]
    parts.append(compressor.compress(row * (height % 500)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
    )
    return path


def make_zip(path: Path) -> Path:
    """An ordinary ZIP archive holding a text file: not a Word document, whatever its name."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "Inside a zip")
    return path


def make_elf(path: Path) -> Path:
    """The first bytes of a 64-bit Linux program, whatever the file is called."""
    header = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 0x3E, 1)
    path.write_bytes(header + b"\x00" * 4096)
    return path
