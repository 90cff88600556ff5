"""Demo documents: made-up paperwork of every category as text files, classified, some reviewed and tagged."""

from __future__ import annotations

import hashlib
import io
import math
import os
import random
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, insert, select

from app.classify import categories, corpus
from app.classify.models import Category, Review
from app.demo.common import BATCH, END, Progress, batches, moment
from app.documents.models import Correspondent, Document, DocumentState, DocumentTag, ReviewState
from app.documents.storage import LocalBlobStore, StoredBlob, blob_store
from app.extensions import db

CORRESPONDENTS = 300
TAGS = ("urgent", "paid", "to check", "archived", "2025 audit", "samples", "export", "contract renewal")
FIRM_FIRST = ("Valley", "Harbour", "Northern", "Alpine", "Golden", "Riverside", "Highland", "Coastal",
              "Old Mill", "Green Hill", "Sunrise", "Westend", "Lakeside", "Royal", "Meadow", "Stone Bridge",
              "Kestrel", "Juniper")  # fmt: skip
FIRM_SECOND = ("Tea Estates", "Roasters", "Packaging", "Logistics", "Foods", "Imports", "Trading", "Mills",
               "Freight", "Insurance", "Printing", "Cold Chain", "Ceramics", "Labs")  # fmt: skip
FIRM_FORM = ("Ltd", "GmbH", "B.V.", "S.r.l.", "SARL", "S.L.", "& Co", "AG")


def _correspondents(rng: random.Random) -> list[int]:
    """About CORRESPONDENTS firms the documents come from (made-up names), added once."""
    names = sorted({f"{rng.choice(FIRM_FIRST)} {rng.choice(FIRM_SECOND)} {rng.choice(FIRM_FORM)}"
                    for _ in range(CORRESPONDENTS)})  # fmt: skip
    taken = set(db.session.scalars(select(Correspondent.name_key)))
    rows = [{"name": name, "name_key": name.casefold(), "created_at": END} for name in names]
    rows = [row for row in rows if row["name_key"] not in taken]
    if rows:
        db.session.execute(insert(Correspondent), rows)
    db.session.commit()
    return list(db.session.scalars(select(Correspondent.id).order_by(Correspondent.id)))


def seed_documents(
    rng: random.Random, count: int, reviews: int, people: list[int], progress: Progress
) -> tuple[int, int]:
    """`count` processed documents (text files in the blob store), `reviews` of them reviewed; (documents, reviews)."""
    if count <= 0:
        return 0, 0
    categories.ensure_default_categories()
    kinds = dict(db.session.execute(select(Category.name, Category.id).where(Category.active.is_(True))).all())
    labels = [name for name in corpus.CATEGORIES if name in kinds]
    per_category = math.ceil(count / len(labels))
    texts = corpus.generate(per_category, seed=rng.randrange(2**31))
    texts = [item for item in texts if item.category in kinds]
    rng.shuffle(texts)
    texts = texts[:count]
    correspondents = _correspondents(rng)
    threshold = current_app.config["AUTO_ACCEPT_THRESHOLD"]
    store = blob_store()
    reviewed_at = set(rng.sample(range(len(texts)), min(reviews, len(texts))))
    done = 0
    before = db.session.scalar(select(func.count(Document.id))) or 0  # numbers go on after earlier documents
    review_rows: list[dict] = []
    for start in range(0, len(texts), BATCH):
        rows, tag_rows, chosen = [], [], []
        for offset, item in enumerate(texts[start : start + BATCH]):
            n = start + offset
            data = f"{item.text}\n\nDemo document {before + n + 1}\n".encode()
            stored = _store(store, data)
            uploaded = moment(rng)
            confidence = round(rng.betavariate(8, 1.6), 4)
            others = [name for name in labels if name != item.category]
            predicted = item.category if n not in reviewed_at or rng.random() < 0.85 else rng.choice(others)
            second = item.category if predicted != item.category else rng.choice(others)
            review_state = (
                ReviewState.REVIEWED
                if n in reviewed_at
                else (ReviewState.AUTO_ACCEPTED if confidence >= threshold else ReviewState.NEEDS_REVIEW)
            )
            slug = item.category.replace(" ", "_")
            rows.append(
                {
                    "sha256": stored.sha256,
                    "filename": f"{slug}_{uploaded:%Y%m%d}_{before + n + 1:06d}.txt",
                    "size": stored.size,
                    "mime": "text/plain",
                    "kind": "text",
                    "state": DocumentState.PROCESSED.value,
                    "state_changed_at": uploaded + timedelta(seconds=3),
                    "attempts": 1,
                    "uploaded_by": people[n % len(people)],
                    "uploaded_at": uploaded,
                    "processing_started_at": uploaded + timedelta(seconds=1),
                    "finished_at": uploaded + timedelta(seconds=3),
                    "pages": 1,
                    "pages_processed": 1,
                    "ocr_pages": 0,
                    "text": data.decode(),
                    "text_sha256": stored.sha256,
                    "review_state": review_state.value,
                    "category_id": kinds[item.category] if review_state != ReviewState.NEEDS_REVIEW else None,
                    "predictions": [[predicted, confidence], [second, round((1 - confidence) * 0.7, 4)]],
                    "confidence": confidence,
                    "review_reason": None
                    if review_state != ReviewState.NEEDS_REVIEW
                    else f"The model is {confidence:.0%} sure, below the {threshold:.0%} needed.",
                    "document_date": (uploaded - timedelta(days=rng.randint(0, 20))).date(),
                    "correspondent_id": rng.choice(correspondents) if rng.random() < 0.8 else None,
                }
            )
            chosen.append((n, item.category, predicted, confidence))
        ids = list(db.session.scalars(insert(Document).returning(Document.id, sort_by_parameter_order=True), rows))
        for document_id, (n, category, predicted, confidence), row in zip(ids, chosen, rows, strict=True):
            if rng.random() < 0.15:
                for tag in rng.sample(TAGS, rng.randint(1, 2)):
                    tag_rows.append({"document_id": document_id, "tag": tag})
            if n in reviewed_at:
                review_rows.append(
                    {
                        "document_id": document_id,
                        "user_id": people[(n + 1) % len(people)],
                        "at": row["finished_at"] + timedelta(hours=rng.uniform(0.1, 30)),
                        "predicted": predicted,
                        "confidence": confidence,
                        "chosen_category_id": kinds[category],
                        "accepted": predicted == category,
                    }
                )
        if tag_rows:
            db.session.execute(insert(DocumentTag), tag_rows)
        db.session.commit()
        done += len(rows)
        progress("documents", done, len(texts))
    for batch in batches(iter(review_rows)):
        db.session.execute(insert(Review), batch)
    db.session.commit()
    os.sync()  # the files written without an fsync each
    return len(texts), len(review_rows)


def _store(store, data: bytes) -> StoredBlob:
    """The text as the document's file. On local disk without an fsync per file (one `os.sync` at the end
    does for all: a demo can be seeded again), elsewhere through the store's own `put`."""
    if not isinstance(store, LocalBlobStore):
        return store.put(io.BytesIO(data), max_bytes=len(data) + 1)
    sha256 = hashlib.sha256(data).hexdigest()
    path = store.local_path(sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{sha256}.seeding")
        partial.write_bytes(data)
        partial.replace(path)
    return StoredBlob(sha256, len(data), path)
