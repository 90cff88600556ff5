"""The ordered steps a document goes through once a worker has claimed it.

This is the one place that chains documents to later stages: reading the text and a preview
(documents), then classification (classify). The search index learns of the result through the
outbox when the task stores it (`processing.finish`). A stage joins by appending a step to
`STEPS`, not by editing the task. A step gets the `Work` and adds to it (document columns it
sets go in `work.fields`); `run` times every step (also for /metrics, with its errors), and the
task stores the result in one transaction.

The domains never import this module: `create_app` hands `run` to the documents task through
`init_app` (app.extensions["document_pipeline"]), so the dependency points one way, from here
to the domains.

Every run has a deadline, TASK_TIMEOUT_SECONDS after it starts. Reading the file (text and
preview), where nearly all the time goes, happens in a child process that is killed at the
deadline (`extract.child`); the steps in this process check the deadline before they start.
Either way the run ends with `extract.TimeLimitReached`, a permanent error: the document fails
once with a sentence saying so, and the worker moves on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from app.classify import service as classify_service
from app.documents import extract
from app.documents.extract import child
from app.documents.models import Document, ReviewState
from app.documents.storage import blob_store
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
    deadline: float | None = None  # time.monotonic() by which the run must be done; None: no limit
    time_limit: float = 0  # the limit in seconds, for the message when it is reached


def read_text(work: Work) -> None:
    """Text layer, OCR or decoding, within the page and pixel limits, in the child process (see `extract.child`)."""
    config = current_app.config
    work.extraction = child.call(
        "extract",
        str(work.path),
        work.detected.mime,
        work.detected.kind,
        config["MAX_PAGES"],
        config["MAX_PIXELS"],
        config["OCR_THREADS"],
        deadline=work.deadline,
        limit=work.time_limit,
    )


def make_thumbnail(work: Work) -> None:
    """A first-page preview for the document page; a document without one still processes."""
    store = blob_store()
    if store.derived_exists("thumbnails", work.sha256):
        work.has_thumbnail = True
        return
    try:
        png = child.call(
            "thumbnail",
            str(work.path),
            work.detected.mime,
            work.detected.kind,
            320,
            current_app.config["MAX_PIXELS"],
            deadline=work.deadline,
            limit=work.time_limit,
        )
    except extract.TimeLimitReached:
        raise
    except extract.ExtractionError:
        return  # the text step reports what is wrong with the file
    if png:
        store.put_derived("thumbnails", work.sha256, png)
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
    """Run every step for a claimed document; an ExtractionError (a time limit reached, too) stops the run."""
    limit = float(current_app.config["TASK_TIMEOUT_SECONDS"])
    work = Work(
        document_id=document.id,
        sha256=document.sha256,
        path=blob_store().local_path(document.sha256),
        detected=extract.DetectedType(mime=document.mime, kind=document.kind),
        already_reviewed=document.review_state == ReviewState.REVIEWED,
        deadline=time.monotonic() + limit if limit > 0 else None,
        time_limit=limit,
    )
    for name, step in STEPS:
        started = time.perf_counter()
        try:
            if work.deadline is not None and time.monotonic() >= work.deadline:
                raise extract.TimeLimitReached(limit)
            step(work)
        except Exception as error:
            metrics.count_step_error(name, error)
            raise
        elapsed = time.perf_counter() - started
        metrics.observe_step(name, elapsed)
        work.timings[name] = round(elapsed * 1000)
    return work


def init_app(app: Flask) -> None:
    """Give the documents task the pipeline it runs (documents cannot import this module)."""
    app.extensions["document_pipeline"] = run
