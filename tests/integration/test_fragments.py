"""Every list that filters as you type answers htmx with its results block alone, and that block renders."""

import pytest

from app.extensions import db
from app.stock.ledger import add_stock
from app.stock.products import ProductData, create_product

LISTS = [
    ("/stock?q=tea", '<section id="product-results"'),
    ("/stock/ledger?page=1", '<section id="ledger-results"'),
    ("/orders?q=x", '<section id="order-results"'),
    ("/documents?q=x", '<section id="document-results"'),
    ("/admin/audit?page=1", '<section id="audit-results"'),
    ("/search?q=tea", '<section id="search-results"'),
    ("/review", '<div id="review"'),
    ("/alerts?q=x", '<section id="alert-results"'),
    ("/notifications?page=1", '<section id="notification-results"'),
    ("/notifications/bell", '<a href="/notifications" id="bell"'),
    ("/admin/system", '<section id="system-status"'),
]


@pytest.mark.parametrize(("url", "start"), LISTS)
def test_an_htmx_request_gets_the_results_block(app, client, auth, url, start):
    auth.login_as("admin")
    response = client.get(url, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    assert "<html" not in html
    if start:
        assert html.lstrip().startswith(start)


def test_a_products_history_pages_through_htmx(app, client, auth):
    auth.login_as("admin")
    with app.app_context():
        product = create_product(ProductData(sku="TEA-1", name="Tea"), user_id=None)
        for _ in range(60):
            add_stock(product.id, 1, user_id=None)
        product_id = product.id
        db.session.remove()
    response = client.get(f"/stock/products/{product_id}?page=2", htmx=True)
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)
