"""Small builders for the rows and requests tests need, so a test names only what matters to it.

Rows are added to the current session and flushed (so they have ids); the caller commits. They
go straight to the tables, past the services: use them to set a scene (a document stuck since
an hour ago, fifty documents in the trash), and the services or pages for the behaviour under test.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from app.documents.models import Document, DocumentState
from app.extensions import db
from app.stock.ledger import add_stock
from app.stock.products import ProductData, create_product, update_product


def make_document(*, text: str | None = None, **fields: Any) -> Document:
    """A document row: a small queued text file with a unique SHA-256 unless `fields` say otherwise.
    With `text` it is processed and holds that text, as the pipeline leaves it (but not indexed)."""
    data = (text or "").encode()
    values: dict[str, Any] = {
        "sha256": uuid.uuid4().hex + uuid.uuid4().hex,
        "filename": "note.txt",
        "size": len(data) or 1,
        "mime": "text/plain",
        "kind": "text",
        "state": (DocumentState.PROCESSED if text is not None else DocumentState.QUEUED).value,
        "text": text,
    }
    document = Document(**{**values, **fields})
    db.session.add(document)
    db.session.flush()
    return document


def upload(client: Any, name: str, data: bytes | str, *, htmx: bool = True, expect: int | None = None) -> Any:
    """POST one file to the upload page, as the upload script does (htmx) or a plain form; the response,
    whose status must be `expect` when one is given."""
    body = data.encode() if isinstance(data, str) else data
    response = client.post(
        "/documents/upload", data={"files": (io.BytesIO(body), name)}, content_type="multipart/form-data", htmx=htmx
    )
    if expect is not None:
        assert response.status_code == expect, response.get_data(as_text=True)
    return response


def make_product(
    sku: str = "TEA-1", *, name: str | None = None, on_hand: int = 0, threshold: int = 0, reorder: int = 0
) -> int:
    """A product (through the service, committed) named "Product <sku>" unless `name` is given, with `on_hand`
    received; its low-stock threshold is set once the stock is there, so no alert opens on the way. Its id."""
    name = name or f"Product {sku}"
    product = create_product(ProductData.clean(sku=sku, name=name, reorder_quantity=reorder), user_id=None)
    if on_hand:
        add_stock(product.id, on_hand, user_id=None)
    if threshold:
        data = ProductData.clean(sku=sku, name=name, low_stock_threshold=threshold, reorder_quantity=reorder)
        update_product(product.id, data, user_id=None)
    return product.id
