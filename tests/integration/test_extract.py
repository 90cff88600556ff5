"""Text extraction on real files: what each kind of upload yields, and how bad files are refused.

Every file is made inside the test (tests/support/documents.py). OCR runs on the real rapidocr
models with one engine for the whole run, on small images so the file stays quick.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.errors import DependencyError

from app.documents import extract
from app.documents.extract import (
    CorruptFile,
    DetectedType,
    EncryptedPdf,
    ExtractionError,
    TooLarge,
    TransientExtractionError,
    UnsupportedType,
)
from tests.support import documents as files

ROOT = Path(__file__).resolve().parents[2]


def words(text: str) -> set[str]:
    """Upper-case words, so OCR's choice of case or spacing does not matter."""
    return set(text.upper().split())


# --- PDFs ---------------------------------------------------------------------------------------


def test_text_pdf_is_read_from_its_text_layer_without_ocr(tmp_path):
    """A typed PDF gives its exact text, accents and euro sign included, without slow OCR."""
    pdf = files.make_text_pdf(tmp_path / "invoice.pdf", ["Invoice 2026-117 for Grüße GmbH", "Total due 1,240.00 €"])

    result = extract.extract(pdf)

    assert "Invoice 2026-117 for Grüße GmbH" in result.text
    assert "Total due 1,240.00 €" in result.text
    assert (result.kind, result.mime, result.pages, result.pages_processed, result.ocr_pages) == (
        "pdf",
        "application/pdf",
        1,
        1,
        0,
    )
    assert result.notes == []


def test_scanned_pdf_is_ocrd(tmp_path):
    """A scanner's image-only PDF still becomes searchable text."""
    pdf = files.make_scanned_pdf(tmp_path / "scan.pdf", ["INVOICE 4711 ACME", "DELIVERY NOTE 5150"])

    result = extract.extract(pdf)

    assert result.ocr_pages == 1
    assert {"INVOICE", "4711", "ACME", "DELIVERY", "5150"} <= words(result.text)


def test_mixed_pdf_ocrs_only_the_scanned_page_and_keeps_page_order(tmp_path):
    """A typed letter with a scanned attachment: typed text as is, the scan by OCR, in page order."""
    pdf = files.make_mixed_pdf(
        tmp_path / "mixed.pdf",
        ["Dear customer, please find the signed delivery note attached."],
        ["SIGNED RECEIPT 8080"],
    )

    result = extract.extract(pdf)

    assert (result.pages, result.pages_processed, result.ocr_pages) == (2, 2, 1)
    assert "Dear customer, please find the signed delivery note attached." in result.text
    assert {"SIGNED", "RECEIPT", "8080"} <= words(result.text)
    assert result.text.index("Dear customer") < result.text.upper().index("RECEIPT")


def test_scanned_pdf_with_ocr_off_says_what_was_not_read(tmp_path):
    """With OCR switched off, the user is told the scanned pages were skipped rather than given silence."""
    pdf = files.make_scanned_pdf(tmp_path / "scan.pdf", ["INVOICE 4711"])

    result = extract.extract(pdf, ocr=False)

    assert (result.text, result.ocr_pages) == ("", 0)
    assert any("OCR was off" in note for note in result.notes)


def test_page_limit_stops_reading_and_says_so(tmp_path):
    """A huge PDF is read only up to QM_MAX_PAGES, and the note tells the user the text is partial."""
    pdf = files.make_text_pdf(tmp_path / "long.pdf", ["Catalogue of teas and cups, with prices"], pages=5)

    result = extract.extract(pdf, max_pages=2)

    assert (result.pages, result.pages_processed) == (5, 2)
    assert "Page 2" in result.text
    assert "Page 3" not in result.text
    assert result.notes == ["Only the first 2 of 5 pages were read (limit QM_MAX_PAGES)."]


def test_password_protected_pdf_is_refused_for_good(tmp_path):
    """A locked PDF is reported as locked, permanently, so the worker does not retry it forever."""
    pdf = files.make_encrypted_pdf(tmp_path / "locked.pdf", ["Secret price list"])

    with pytest.raises(EncryptedPdf) as caught:
        extract.extract(pdf)

    assert caught.value.permanent
    assert str(caught.value) == "The PDF is password-protected, so its text cannot be read."


def test_pdf_locked_only_against_editing_is_read(tmp_path):
    """Many PDFs are encrypted with an empty open-password (edit restrictions only); those open normally."""
    pdf = files.make_encrypted_pdf(tmp_path / "restricted.pdf", ["Bank statement for March 2026"], user_password="")

    result = extract.extract(pdf)

    assert "Bank statement for March 2026" in result.text


def test_pdf_that_pypdf_cannot_decrypt_alone_is_read_through_pdfium(tmp_path, monkeypatch):
    """AES-encrypted PDFs with an empty open-password need `cryptography` in pypdf; pdfium reads them anyway."""
    pdf = files.make_encrypted_pdf(tmp_path / "aes.pdf", ["Quarterly tea price index, page one"], user_password="")

    def needs_cryptography(self, password):
        raise DependencyError("cryptography is required for AES algorithm")

    monkeypatch.setattr(PdfReader, "decrypt", needs_cryptography)
    result = extract.extract(pdf)

    assert "Quarterly tea price index, page one" in result.text
    assert (result.pages, result.pages_processed, result.ocr_pages) == (1, 1, 0)


def test_truncated_pdf_is_corrupt(tmp_path):
    """A half-downloaded PDF is reported as damaged, permanently, not as a server error."""
    pdf = files.make_truncated_pdf(tmp_path / "half.pdf", ["Order 9001"])

    with pytest.raises(CorruptFile) as caught:
        extract.extract(pdf)

    assert caught.value.permanent
    assert "damaged" in str(caught.value)


def test_garbage_behind_a_pdf_header_is_corrupt(tmp_path):
    """Noise that merely starts like a PDF is refused as damaged."""
    pdf = files.make_garbage_pdf(tmp_path / "noise.pdf")

    assert extract.detect_type(pdf).kind == "pdf"
    with pytest.raises(CorruptFile):
        extract.extract(pdf)


# --- images -------------------------------------------------------------------------------------


def test_png_is_ocrd_in_reading_order(tmp_path):
    """Words on one line come out on one line, left to right, and the next line below it."""
    png = files.make_layout_png(
        tmp_path / "label.png", [(420, 30, "ACME"), (30, 30, "INVOICE 4711"), (30, 120, "TOTAL 99")]
    )

    result = extract.extract(png)

    assert (result.kind, result.mime, result.pages, result.ocr_pages) == ("image", "image/png", 1, 1)
    lines = [line.upper() for line in result.text.splitlines()]
    assert lines == ["INVOICE 4711 ACME", "TOTAL 99"]


def test_jpeg_photo_is_ocrd(tmp_path):
    """A JPEG (the usual phone photo of a receipt) yields its words."""
    jpeg = files.make_scan_jpeg(tmp_path / "receipt.jpg", ["PACKING SLIP 6060"])

    result = extract.extract(jpeg)

    assert result.mime == "image/jpeg"
    assert {"PACKING", "SLIP", "6060"} <= words(result.text)


def test_every_page_of_a_multipage_tiff_is_ocrd(tmp_path):
    """A fax or multi-page scan in one TIFF gives the text of each page, in order."""
    tiff = files.make_multipage_tiff(tmp_path / "fax.tif", [["DELIVERY NOTE 5150"], ["CRATES OF RED TEA"]])

    result = extract.extract(tiff)

    assert (result.mime, result.pages, result.pages_processed, result.ocr_pages) == ("image/tiff", 2, 2, 2)
    assert {"DELIVERY", "5150", "CRATES", "RED", "TEA"} <= words(result.text)
    assert result.text.upper().index("DELIVERY") < result.text.upper().index("CRATES")


def test_tiff_frames_beyond_the_page_limit_are_skipped_with_a_note(tmp_path):
    """The page limit applies to image frames too, and says so."""
    tiff = files.make_multipage_tiff(tmp_path / "fax.tif", [["ONE"], ["TWO"], ["THREE"]])

    result = extract.extract(tiff, max_pages=1, ocr=False)

    assert (result.pages, result.pages_processed) == (3, 1)
    assert "Only the first 1 of 3 pages of the image were read (limit QM_MAX_PAGES)." in result.notes


def test_long_receipt_is_read_in_pieces_without_losing_lines(tmp_path):
    """A till receipt (tall and narrow) is OCR'd piece by piece, cut between lines, so no line is lost."""
    lines = [f"LINE {index:02d} TEA {index * 7}" for index in range(30)]
    png = files.make_scan_png(tmp_path / "receipt.png", lines, size=(500, 2200))

    text = extract.extract(png).text

    found = [line for line in text.splitlines() if "TEA" in line]
    assert len(found) == 30
    assert [line.rsplit(" ", 1)[-1] for line in found[1:]] == [str(index * 7) for index in range(1, 30)]


def test_picture_too_thin_to_hold_text_is_not_handed_to_ocr():
    """A hair-thin strip once made the OCR engine allocate the whole machine's memory; now it is skipped or refused."""
    from app.documents.extract import ocr

    thin = Image.new("RGB", (5, 2000), "white")
    assert ocr._ocr_pieces(ocr._to_rgb(thin)) == []  # nothing of it reaches the engine
    assert extract.ocr_image(thin) == ""
    with pytest.raises(TooLarge) as caught:
        extract.ocr_image(Image.new("RGB", (20, 3000), "white"))

    assert "too long and narrow" in str(caught.value)


def test_webp_is_recognised_as_an_image(tmp_path):
    """WEBP (what browsers save images as) is accepted as an image, whatever it is called."""
    webp = files.make_scan_webp(tmp_path / "picture.bin", ["HELLO"])

    assert extract.detect_type(webp) == DetectedType("image/webp", "image")


def test_decompression_bomb_is_refused_quickly_without_decoding(tmp_path):
    """A tiny PNG claiming 20,000 x 20,000 pixels is refused at once, without gigabytes of memory."""
    bomb = files.make_decompression_bomb_png(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 1_000_000
    probe = (
        "import json, resource, sys, time\n"
        "from pathlib import Path\n"
        "from app.documents import extract\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "started = time.perf_counter()\n"
        "try:\n"
        "    extract.extract(Path(sys.argv[1]))\n"
        "    outcome = 'read'\n"
        "except extract.ExtractionError as error:\n"
        "    outcome = [type(error).__name__, error.permanent, str(error)]\n"
        "seconds = time.perf_counter() - started\n"
        "grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024\n"
        "print(json.dumps({'outcome': outcome, 'seconds': seconds, 'grown_mb': grown_mb}))\n"
    )

    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe, str(bomb)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    report = json.loads(run.stdout)
    kind, permanent, message = report["outcome"]
    assert (kind, permanent) == ("TooLarge", True)
    assert "decompression bomb" in message
    assert report["seconds"] < 1
    assert report["grown_mb"] < 50


def test_image_between_pillows_warning_and_error_limits_is_refused_not_warned(tmp_path):
    """Pillow only warns for 90-180 million pixels; that must still be a clean refusal, not a leaked warning."""
    png = files.make_decompression_bomb_png(tmp_path / "big.png", width=12_000, height=10_000)

    with pytest.raises(TooLarge):
        extract.extract(png)
    with pytest.raises(TooLarge):
        extract.thumbnail(png, extract.detect_type(png))


def test_png_over_the_pixel_limit_is_refused_with_the_limit_named(tmp_path):
    """An image over QM_MAX_PIXELS that cannot be decoded smaller is refused, naming the limit."""
    png = files.make_scan_png(tmp_path / "poster.png", ["BIG"], size=(2000, 1000))

    with pytest.raises(TooLarge) as caught:
        extract.extract(png, max_pixels=1_000_000)

    assert caught.value.permanent
    assert "1,000,000 pixels (QM_MAX_PIXELS)" in str(caught.value)


def test_jpeg_over_the_pixel_limit_is_read_at_reduced_size(tmp_path):
    """A JPEG over the limit is decoded at a fraction of its size (cheap for JPEG), read, and noted."""
    jpeg = files.make_scan_jpeg(tmp_path / "photo.jpg", ["ORDER 4242"], size=(1600, 400), font_size=90)

    result = extract.extract(jpeg, max_pixels=200_000)

    assert {"ORDER", "4242"} <= words(result.text)
    assert result.notes == [
        "The image is 1,600 x 400 pixels, more than the limit of 200,000 (QM_MAX_PIXELS); "
        "it was read at a reduced size of 800 x 200."
    ]


# --- text and Word ------------------------------------------------------------------------------

GERMAN = "Lieferschein für Bürostühle\r\nGröße: 42, Preis: 12,50 €\r\n"
FRENCH = "Café crème à 3 € — déjà vu\n"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (GERMAN, "utf-8"),
        (GERMAN, "utf-8-sig"),
        (GERMAN, "utf-16"),
        (GERMAN, "cp1252"),
        (FRENCH, "cp1252"),
        ("Año nuevo, señor. Niño pequeño.\n", "latin-1"),
        ("Zażółć gęślą jaźń. Łódź, Kraków, Gdańsk.\n", "cp1250"),
        ("Děkuji za objednávku, zboží odešleme zítra.\n", "cp1250"),
        ("Счёт на оплату №17 от поставщика чая.\n", "cp1251"),
    ],
)
def test_text_files_decode_in_their_own_encoding(tmp_path, text, encoding):
    """Old Windows code pages, UTF-16 and UTF-8 all give the right letters, Western European or not."""
    path = files.make_text_file(tmp_path / "note.txt", text, encoding)

    result = extract.extract(path)

    assert (result.kind, result.mime, result.pages) == ("text", "text/plain", None)
    assert result.text == text.replace("\r\n", "\n").strip()


def test_csv_is_recognised_and_read_as_text(tmp_path):
    """A semicolon CSV export is recognised as CSV and its rows are kept line by line."""
    path = files.make_text_file(tmp_path / "stock.dat", "sku;name;qty\nA1;Bolt;12\nA2;Nut;7\n", "utf-8")

    assert extract.detect_type(path) == DetectedType("text/csv", "text")
    assert extract.extract(path).text == "sku;name;qty\nA1;Bolt;12\nA2;Nut;7"


def test_text_is_normalised_but_keeps_its_lines(tmp_path):
    """Trailing spaces and long runs of blank lines go; line breaks and indentation stay."""
    path = files.make_text_file(tmp_path / "a.txt", "Title   \n\n\n\n\n\n  indented line\t\nlast\n\n", "utf-8")

    assert extract.extract(path).text == "Title\n\n\n  indented line\nlast"


def test_docx_paragraphs_and_table_cells_in_document_order(tmp_path):
    """A Word contract gives its paragraphs and its table, row by row, where they stand in the document."""
    docx = files.make_docx(
        tmp_path / "contract.docx",
        ["Supply contract for organic tea", "Prices below are per crate."],
        table=[["Item", "Price"], ["Oolong", "12.50"], ["Sencha", "9.80"]],
        title_row="Price list 2026",
    )

    result = extract.extract(docx)

    assert result.kind == "docx"
    assert result.text == (
        "Supply contract for organic tea\nPrices below are per crate.\n"
        "Price list 2026\nItem\tPrice\nOolong\t12.50\nSencha\t9.80\nEnd of document"
    )


# --- refusals -----------------------------------------------------------------------------------


def test_program_renamed_to_pdf_is_refused_by_its_bytes(tmp_path):
    """An executable called invoice.pdf is named for what it is and never handed to a PDF parser."""
    elf = files.make_elf(tmp_path / "invoice.pdf")

    with pytest.raises(UnsupportedType) as caught:
        extract.extract(elf)

    assert caught.value.permanent
    assert "Linux program" in str(caught.value)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda path: path.write_bytes(b""), "empty"),
        (lambda path: path.write_bytes(bytes(range(256)) * 16), "not a PDF, an image, a Word document"),
        (files.make_zip, "ZIP archive"),
    ],
    ids=["zero-bytes", "random-bytes", "plain-zip"],
)
def test_unreadable_kinds_are_refused_in_words(tmp_path, make, expected):
    """Empty files, binary noise and ZIP archives get a clear, permanent refusal."""
    path = tmp_path / "upload.docx"
    make(path)

    with pytest.raises(UnsupportedType) as caught:
        extract.detect_type(path)

    assert caught.value.permanent
    assert expected in str(caught.value)


def test_storage_failure_is_transient(tmp_path):
    """A file missing from storage is a temporary failure, so the worker retries instead of giving up."""
    missing = tmp_path / "gone.pdf"

    with pytest.raises(TransientExtractionError) as caught:
        extract.extract(missing, DetectedType("application/pdf", "pdf"))

    assert not caught.value.permanent
    assert isinstance(caught.value, ExtractionError)


# --- thumbnails ---------------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_thumbnails_are_small_pngs_and_text_files_show_their_opening_lines(tmp_path):
    """Every kind gets a preview: PDFs and images themselves, text and Word files their first lines on a page."""
    pdf = files.make_text_pdf(tmp_path / "a.pdf", ["Preview me"])
    png = files.make_scan_png(tmp_path / "a.png", ["PREVIEW"], size=(1600, 400))
    jpeg = files.make_scan_jpeg(tmp_path / "a.jpg", ["PREVIEW"], size=(1600, 400))
    text = files.make_text_file(tmp_path / "a.txt", "just text\n", "utf-8")
    docx = files.make_docx(tmp_path / "a.docx", ["Word"])

    pdf_width, pdf_height = _png_size(extract.thumbnail(pdf, extract.detect_type(pdf)))
    assert max(pdf_width, pdf_height) == pytest.approx(320, abs=1)
    assert pdf_height > pdf_width  # A4 portrait
    assert _png_size(extract.thumbnail(png, extract.detect_type(png))) == (320, 80)
    assert _png_size(extract.thumbnail(jpeg, extract.detect_type(jpeg), size=100)) == (100, 25)
    for page in (text, docx):
        preview = extract.thumbnail(page, extract.detect_type(page))
        width, height = _png_size(preview)
        assert (height, width) == (320, 226)  # A4 portrait, like a PDF's first page
        with Image.open(io.BytesIO(preview)) as image:
            assert image.convert("L").getextrema()[0] < 128  # some text was drawn, not a blank page
    blank = files.make_text_file(tmp_path / "blank.txt", "\n\n   \n", "utf-8")
    assert extract.thumbnail(blank, extract.detect_type(blank)) is None  # nothing to draw


def test_thumbnail_of_a_bomb_is_refused(tmp_path):
    """Drawing a preview must not decode a decompression bomb either."""
    bomb = files.make_decompression_bomb_png(tmp_path / "bomb.png")

    started = time.perf_counter()
    with pytest.raises(TooLarge):
        extract.thumbnail(bomb, DetectedType("image/png", "image"))
    assert time.perf_counter() - started < 1


# --- the OCR engine -----------------------------------------------------------------------------


def test_ocr_engine_is_created_once_even_when_threads_race(monkeypatch):
    """Each engine holds hundreds of MB: concurrent first uses in one process must share one."""
    created = []

    def slow_create(threads):
        time.sleep(0.05)
        created.append(threads)
        return object()

    monkeypatch.setattr(extract.ocr, "_engine", None)  # the engine and its factory live in extract/ocr.py
    monkeypatch.setattr(extract.ocr, "create_ocr_engine", slow_create)
    engines = []
    threads = [threading.Thread(target=lambda: engines.append(extract.ocr_engine())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert created == [extract.DEFAULT_OCR_THREADS]
    assert len(engines) == 4
    assert all(engine is engines[0] for engine in engines)


def test_ocr_models_come_from_the_wheel_without_network(monkeypatch):
    """Workers may have no internet access: a fresh engine loads its models and reads text offline."""

    def no_network(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    engine = extract.create_ocr_engine(threads=1)
    image = files.text_image(["OFFLINE 1234"], size=(500, 110))

    result = engine(image)

    assert {"OFFLINE", "1234"} <= words(" ".join(result.txts))
