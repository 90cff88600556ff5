"""The ordered steps a document goes through once a worker has claimed it.

This is the one place that chains documents to later stages: classification
(here now) and search indexing join by appending a step to `STEPS`, not by
editing the task. A step gets the `Work` and adds to it (document columns it
sets go in `work.fields`); `run` times every step (also for /metrics, with its errors), and the task stores the
result in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app

from app.classify import service as classify_service
from app.documents import extract
from app.documents.models import Document
from app.documents.storage import blob_store, thumbnail_path
from app.ops import metrics


@dataclass
class Work:
    document_id: int
    sha256: str
    path: Path
    detected: extract.DetectedType
    extraction: extract.Extraction | None = None
    has_thumbnail: bool = False
    already_reviewed: bool = False  # a person decided its category: later runs keep that
    fields: dict[str, Any] = field(default_factory=dict)  # document columns later steps set
    timings: dict[str, int] = field(default_factory=dict)  # milliseconds per step


def read_text(work: Work) -> None:
    """Text layer, OCR or decoding, within the page and pixel limits."""
    config = current_app.config
    extract.configure_ocr(config["OCR_THREADS"])  # no-op after the first call with the same figure
    work.extraction = extract.extract(
        work.path, work.detected, max_pages=config["MAX_PAGES"], max_pixels=config["MAX_PIXELS"]
    )


def make_thumbnail(work: Work) -> None:
    """A first-page preview for the document page; a document without one still processes."""
    target = thumbnail_path(work.sha256)
    if target.exists():
        work.has_thumbnail = True
        return
    try:
        png = extract.thumbnail(work.path, work.detected)
    except extract.ExtractionError:
        return  # the text step reports what is wrong with the file
    if png:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(".tmp")
        temp.write_bytes(png)
        temp.replace(target)
        work.has_thumbnail = True


def classify(work: Work) -> None:
    """Top three categories from the active model; confident ones are accepted, others wait for review."""
    text = work.extraction.text if work.extraction else ""
    checksum = classify_service.text_checksum(text)
    work.fields["text_sha256"] = checksum
    if work.already_reviewed:
        return
    work.fields.update(classify_service.classify_document(work.document_id, text, checksum).as_fields())


STEPS: list[tuple[str, Callable[[Work], None]]] = [
    ("extract", read_text),
    ("thumbnail", make_thumbnail),
    ("classify", classify),
]


def run(document: Document) -> Work:
    """Run every step for a claimed document; an ExtractionError stops the run."""
    work = Work(
        document_id=document.id,
        sha256=document.sha256,
        path=blob_store().local_path(document.sha256),
        detected=extract.DetectedType(mime=document.mime, kind=document.kind),
        already_reviewed=document.review_state == classify_service.REVIEWED,
    )
    for name, step in STEPS:
        started = time.perf_counter()
        try:
            step(work)
        except Exception as error:
            metrics.count_step_error(name, error)
            raise
        elapsed = time.perf_counter() - started
        metrics.observe_step(name, elapsed)
        work.timings[name] = round(elapsed * 1000)
    return work
