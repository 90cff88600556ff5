"""Document ingest benchmark: documents per second per worker, stage by stage, against the bare libraries.

What it measures, on the embedded default (SQLite, the local blob store and a
SQLite queue, all in a temporary directory):

1. Three corpora made on the spot with the helpers of tests/support/documents.py,
   every file with its own words (the same bytes twice would be deduplicated):
   text-layer PDFs (2 pages of 30 lines), image-only PDFs (one scanned page,
   1240 x 500 pixels at 150 dpi, 5 lines) and PNG scans (1240 x 500, 6 lines).
2. Each file goes through the app the way an upload and the worker take it:
   `service.ingest` (what the upload request does: store the blob, detect the
   type, insert the row, enqueue to a throwaway queue that nobody consumes),
   then what the `process_document` task does, in this process, one document
   at a time: `service.claim`, `service.get_document`, `pipeline.run`,
   `service.finish`. Documents per second is therefore per worker. The stage
   times are `service.ingest` (store), claim and load, the pipeline's own
   `work.timings` (extract, thumbnail; whole milliseconds per document) and
   `service.finish` (the database write).
3. In the same run, on the same files, the bare library calls that extraction
   comes down to: pypdf `PdfReader(path)` and `extract_text()` on every page;
   pypdfium2 rendering at the pipeline's scale plus one rapidocr call per page;
   a rapidocr call on the decoded PNG. Raw OCR runs on the app's own engine
   (`extract.ocr_engine()`, warmed up before anything is timed), so both paths
   use the same models and onnxruntime settings. Pipeline and raw take turns
   per file (pipeline first on even files, raw first on odd ones), so
   background load weighs on both alike.

Run from the project root:

    .venv/bin/python bench/ingest.py            # full run, 1.5 minutes on 2 quiet cores
    .venv/bin/python bench/ingest.py --quick    # 3 files per corpus, under 30 seconds

It needs no server: everything lives in a temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app import create_app, pipeline
from app import queue as task_queue
from app.config import config_for_tests
from app.documents import extract, service
from app.documents.models import DocumentState
from app.extensions import db
from bench.machine import library_versions, load_average
from tests.support.documents import make_scan_png, make_scanned_pdf, text_image, text_pdf_bytes

LIBRARIES = ("pypdf", "pypdfium2", "rapidocr", "onnxruntime", "pillow")
LATER_STAGES = ("classify", "index")  # joined by appending to pipeline.STEPS; not there yet
# Words OCR reads reliably in the helpers' bold type; every file draws its own mix.
_VOCABULARY = (
    "invoice order pallet carton freight supplier delivery warehouse shelf receipt credit note total amount "
    "quantity price discount account customer address street city payment transfer balance stock product "
    "sample green blue steel paper timber cement screws bolts glass water coffee office ledger"
)
WORDS = tuple(_VOCABULARY.split())


# ---------------------------------------------------------------- the corpora


def lines_of_words(rng: random.Random, count: int, width: int, first: str) -> list[str]:
    """`count` lines of random words, each at most `width` characters; the first line is `first`."""
    lines = [first]
    while len(lines) < count:
        line = rng.choice(WORDS)
        while True:
            word = rng.choice(WORDS) if rng.random() < 0.8 else str(rng.randint(1, 9999))
            if len(line) + 1 + len(word) > width:
                break
            line += " " + word
        lines.append(line)
    return lines


def make_text_pdfs(folder: Path, count: int, seed: int) -> list[Path]:
    """Two pages of 30 lines each (Helvetica 14 pt), every page its own words."""
    paths = []
    for n in range(count):
        rng = random.Random(seed * 1_000_003 + n)
        pages = [lines_of_words(rng, 30, 70, f"Letter {n} page {page}") for page in (1, 2)]
        path = folder / f"letter-{n:04d}.pdf"
        path.write_bytes(text_pdf_bytes(pages))
        paths.append(path)
    return paths


def make_scanned_pdfs(folder: Path, count: int, seed: int) -> list[Path]:
    """One image-only page as a scanner writes it: 1240 x 500 pixels at 150 dpi, 5 lines in 48 px type."""
    paths = []
    for n in range(count):
        rng = random.Random(seed * 1_000_003 + n)
        path = folder / f"scan-{n:04d}.pdf"
        paths.append(make_scanned_pdf(path, lines_of_words(rng, 5, 32, f"Scan {n}")))
    return paths


def make_pngs(folder: Path, count: int, seed: int) -> list[Path]:
    """A PNG scan of 1240 x 500 pixels, 6 lines in 40 px type."""
    paths = []
    for n in range(count):
        rng = random.Random(seed * 1_000_003 + n)
        path = folder / f"photo-{n:04d}.png"
        paths.append(make_scan_png(path, lines_of_words(rng, 6, 36, f"Picture {n}"), size=(1240, 500)))
    return paths


# ---------------------------------------------------------------- the bare libraries


def raw_text_pdf(path: Path) -> str:
    reader = pypdf.PdfReader(path)
    return "\n".join(page.extract_text() for page in reader.pages)


def ocr_words(image) -> str:
    result = extract.ocr_engine()(image)
    return " ".join(getattr(result, "txts", None) or ())


def raw_scanned_pdf(path: Path) -> str:
    """Render every page in grey at the pipeline's OCR scale, then one rapidocr call per page."""
    texts = []
    document = pdfium.PdfDocument(str(path))
    try:
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=extract.OCR_DPI / 72, grayscale=True)
            try:
                texts.append(ocr_words(bitmap.to_pil()))
            finally:
                bitmap.close()
                page.close()
    finally:
        document.close()
    return "\n".join(texts)


def raw_png(path: Path) -> str:
    with Image.open(path) as image:
        image.load()
        return ocr_words(image)


# ---------------------------------------------------------------- one file, both ways


@dataclass
class Sample:
    """Seconds for one file (stage milliseconds from the pipeline are whole numbers)."""

    store: float
    claim: float
    run: float
    finish: float
    extract_ms: int
    thumbnail_ms: int
    raw: float
    words: int  # words in the stored text
    raw_words: int  # words the bare libraries returned

    @property
    def worker(self) -> float:
        return self.claim + self.run + self.finish

    @property
    def whole(self) -> float:
        return self.store + self.worker


def through_app(app, path: Path) -> dict[str, float | int]:
    """Upload (ingest), then what the worker's task does: claim, load, run the pipeline, finish."""
    with app.app_context():
        with path.open("rb") as stream:
            began = time.perf_counter()
            ingested = service.ingest(stream, path.name, user_id=None)
            store = time.perf_counter() - began
        if ingested.duplicate:
            raise RuntimeError(f"{path.name} was taken for a duplicate: the corpus must have distinct bytes")
        document_id = ingested.document.id
        db.session.remove()
    with app.app_context():  # the task runs in an app context of its own
        began = time.perf_counter()
        if not service.claim(document_id):
            raise RuntimeError(f"document {document_id} could not be claimed")
        document = service.get_document(document_id)
        claimed = time.perf_counter()
        work = pipeline.run(document)
        ran = time.perf_counter()
        done = service.finish(document_id, work.extraction, work.timings, work.has_thumbnail)
        finished = time.perf_counter()
        if not done or service.get_document(document_id).state != DocumentState.PROCESSED:
            raise RuntimeError(f"document {document_id} was not marked processed")
        db.session.remove()
    return {
        "store": store,
        "claim": claimed - began,
        "run": ran - claimed,
        "finish": finished - ran,
        "extract_ms": work.timings["extract"],
        "thumbnail_ms": work.timings["thumbnail"],
        "words": len(work.extraction.text.split()),
    }


def bare(raw: Callable[[Path], str], path: Path) -> tuple[float, int]:
    began = time.perf_counter()
    text = raw(path)
    return time.perf_counter() - began, len(text.split())


def measure(app, raw: Callable[[Path], str], path: Path, pipeline_first: bool) -> Sample:
    if pipeline_first:
        app_side = through_app(app, path)
        seconds, words = bare(raw, path)
    else:
        seconds, words = bare(raw, path)
        app_side = through_app(app, path)
    return Sample(raw=seconds, raw_words=words, **app_side)


# ---------------------------------------------------------------- a corpus


@dataclass
class Corpus:
    name: str
    description: str
    raw_name: str
    make: Callable[[Path, int, int], list[Path]]
    raw: Callable[[Path], str]
    files: list[Path] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    load_before: str = ""
    load_after: str = ""
    seconds: float = 0.0

    def mean(self, attribute: str) -> float:
        return statistics.fmean(getattr(sample, attribute) for sample in self.samples)

    def rate(self, attribute: str) -> float:
        total = sum(getattr(sample, attribute) for sample in self.samples)
        return len(self.samples) / total if total else float("nan")

    @property
    def extract_ratio(self) -> float:
        return self.mean("extract_ms") / (self.mean("raw") * 1000)

    @property
    def median_extract_ratio(self) -> float:
        """The per-file ratios' median: each file's two paths ran side by side, so load drift cancels out."""
        return statistics.median(sample.extract_ms / (sample.raw * 1000) for sample in self.samples)

    @property
    def whole_ratio(self) -> float:
        return self.mean("whole") / self.mean("raw")


def run_corpus(app, corpus: Corpus, warm_up: Path) -> None:
    # One untimed file both ways first: imports, first-call caches, the blob and thumbnail folders.
    through_app(app, warm_up)
    corpus.raw(warm_up)
    corpus.load_before = load_average()
    began = time.perf_counter()
    for index, path in enumerate(corpus.files):
        corpus.samples.append(measure(app, corpus.raw, path, pipeline_first=index % 2 == 0))
    corpus.seconds = time.perf_counter() - began
    corpus.load_after = load_average()


def print_corpus(corpus: Corpus) -> None:
    count = len(corpus.samples)
    size = statistics.fmean(path.stat().st_size for path in corpus.files) / 1024
    print()
    print(f"### {corpus.name}: {count} files, {corpus.description}, {size:.1f} KB on average")
    print()
    print(f"{corpus.seconds:.1f} s for both paths; load average {corpus.load_before} before, {corpus.load_after} after")
    print()
    print("| figure | value |")
    print("|:-------|------:|")
    print(f"| documents/s, pipeline (claim → finish, one worker) | {corpus.rate('worker'):,.2f} |")
    print(f"| documents/s, raw ({corpus.raw_name}) | {corpus.rate('raw'):,.2f} |")
    print(f"| extract / raw | {corpus.extract_ratio:.2f} |")
    if corpus.mean("raw") >= 0.05:
        print(f"| extract / raw, median of the per-file ratios | {corpus.median_extract_ratio:.2f} |")
    else:  # a few whole milliseconds per file: per-file ratios would be mostly rounding
        print("| extract / raw, median of the per-file ratios | (files too fast for whole ms) |")
    print(f"| whole (store → finish) / raw | {corpus.whole_ratio:.2f} |")
    print(f"| store ms (`service.ingest`) | {corpus.mean('store') * 1000:,.1f} |")
    print(f"| claim ms (claim + load the row) | {corpus.mean('claim') * 1000:,.1f} |")
    print(f"| extract ms | {corpus.mean('extract_ms'):,.1f} |")
    print(f"| thumbnail ms | {corpus.mean('thumbnail_ms'):,.1f} |")
    print(f"| finish ms (the database write) | {corpus.mean('finish') * 1000:,.1f} |")
    for stage in LATER_STAGES:
        print(f"| {stage} ms | not yet |")
    print(f"| raw ms | {corpus.mean('raw') * 1000:,.1f} |")
    print(f"| words read per document, pipeline / raw | {corpus.mean('words'):.0f} / {corpus.mean('raw_words'):.0f} |")
    unaccounted = corpus.mean("run") * 1000 - corpus.mean("extract_ms") - corpus.mean("thumbnail_ms")
    print()
    print(
        f"pipeline.run took {corpus.mean('run') * 1000:,.1f} ms on average, "
        f"{unaccounted:+.1f} ms beside its steps' own timings"
    )


# ---------------------------------------------------------------- the machine


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 files per corpus")
    parser.add_argument("--text-pdfs", type=int, help="text-layer PDFs (800, or 3 with --quick)")
    parser.add_argument("--scanned-pdfs", type=int, help="image-only PDFs (40, or 3 with --quick)")
    parser.add_argument("--pngs", type=int, help="PNG scans (30, or 3 with --quick)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the words in the files (1)")
    args = parser.parse_args()
    counts = {
        "text": args.text_pdfs or (3 if args.quick else 800),
        "scanned": args.scanned_pdfs or (3 if args.quick else 40),
        "png": args.pngs or (3 if args.quick else 30),
    }

    print("Quartermaster document ingest benchmark")
    print(f"  machine    {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"  python     {platform.python_implementation()} {platform.python_version()}")
    print(f"  libraries  {library_versions(LIBRARIES)}")
    print(
        "  OCR        the app's engine (extract.ocr_engine()) for both paths, no angle classifier; "
        f"pages rendered at {extract.OCR_DPI} dpi"
    )
    print(f"  load       {load_average()} (1, 5, 15 min averages; other work on the machine skews the figures)")
    print(
        f"  database   SQLite {sqlite3.sqlite_version} in a temporary directory, with the blob store, "
        "the thumbnails and the queue"
    )
    print()

    corpora = [
        Corpus("Text-layer PDFs", "2 pages of 30 lines", "pypdf", make_text_pdfs, raw_text_pdf),
        Corpus(
            "Scanned PDFs",
            "1 image-only page, 1240 x 500 px at 150 dpi",
            "pypdfium2 + rapidocr",
            make_scanned_pdfs,
            raw_scanned_pdf,
        ),
        Corpus("PNG scans", "1240 x 500 px", "Pillow + rapidocr", make_pngs, raw_png),
    ]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qm-bench-") as tmpdir:
        root = Path(tmpdir)
        app = create_app(config_for_tests(root, f"sqlite:///{root}/bench.db"))
        task_queue.huey.immediate = False  # ingest only enqueues; this script plays the worker
        with app.app_context():
            db.create_all()

        began = time.perf_counter()
        warm_ups = []
        for corpus, count in zip(corpora, counts.values(), strict=True):
            folder = root / "corpus" / corpus.make.__name__
            folder.mkdir(parents=True)
            # one more file than timed: the last one warms up both paths, untimed
            *corpus.files, warm_up = corpus.make(folder, count + 1, args.seed)
            warm_ups.append(warm_up)
        print(f"Made {sum(counts.values())} files (+3 for warming up) in {time.perf_counter() - began:.1f} s")

        began = time.perf_counter()
        threads = app.config["OCR_THREADS"]
        extract.configure_ocr(threads)  # as pipeline.read_text does first; raw OCR then uses the same engine
        ocr_words(text_image(["Warming up the OCR engine"]))
        print(
            f"Loaded and warmed up the OCR engine ({threads} onnxruntime intra-op threads, QM_OCR_THREADS) "
            f"in {time.perf_counter() - began:.1f} s"
        )

        for corpus, warm_up in zip(corpora, warm_ups, strict=True):
            print(f"{corpus.name}: {len(corpus.files)} files through the pipeline and through {corpus.raw_name} ...")
            run_corpus(app, corpus, warm_up)
        for corpus in corpora:
            print_corpus(corpus)

        print()
        print("| corpus | files | docs/s pipeline | docs/s raw | extract / raw | whole / raw |")
        print("|:-------|------:|----------------:|-----------:|--------------:|------------:|")
        for corpus in corpora:
            print(
                f"| {corpus.name} | {len(corpus.samples)} | {corpus.rate('worker'):,.2f} | {corpus.rate('raw'):,.2f} "
                f"| {corpus.extract_ratio:.2f} | {corpus.whole_ratio:.2f} |"
            )
        print()
        print(
            "Stage milliseconds are means per document. extract and thumbnail are the pipeline's own timings\n"
            "(work.timings, whole milliseconds per document); classify and index are not in pipeline.STEPS yet.\n"
            "whole = store + claim + pipeline.run + finish; docs/s pipeline counts claim + run + finish."
        )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    print()
    print(f"Done in {time.perf_counter() - started:.0f} s; load average {load_average()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
