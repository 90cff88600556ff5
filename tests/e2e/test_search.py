"""Searching in a real browser: results and highlights update as you type; a facet narrows them."""

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_type_a_query_see_highlights_and_click_a_facet(page: Page, sign_in, tmp_path):
    word = f"zq{uuid.uuid4().hex[:8]}"  # a word no other document has
    texts = {
        f"invoice-{word}.txt": f"INVOICE 88 for {word} green tea, 12 boxes. Total due 240.00 EUR incl. VAT.",
        f"letter-{word}.txt": f"Dear Ms Weber, thank you for the {word} samples. Kind regards, Anna",
        f"delivery-{word}.txt": f"Delivery note: 3 pallets of {word} cups delivered, signed by the driver.",
    }
    paths = []
    for name, text in texts.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    sign_in("staff")
    page.goto("/documents/upload")
    page.get_by_label("Drop files here, or choose them").set_input_files([str(p) for p in paths])
    for path in paths:
        row = page.locator("#upload-list .upload-row").filter(has_text=path.name)
        expect(row.get_by_test_id("doc-state")).to_have_attribute("data-state", "processed", timeout=30_000)

    page.goto("/search")
    page.evaluate("window.stillTheSamePage = true")
    box = page.get_by_label("Search", exact=True)
    box.press_sequentially(word, delay=30)

    hits = page.get_by_test_id("hits").locator("li.hit")
    expect(hits).to_have_count(3, timeout=15_000)  # the index catches up within moments of processing
    expect(page.get_by_test_id("result-count")).to_have_text("3")
    expect(hits.first.locator("mark").first).to_have_text(re.compile(word, re.IGNORECASE))
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place
    assert f"q={word}" in page.url

    box.press_sequentially(" pallets", delay=30)
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text(f"delivery-{word}.txt")

    box.fill(word)
    expect(hits).to_have_count(3)
    facet = page.get_by_test_id("facets").locator("a[data-facet]").first
    name = facet.get_attribute("data-facet")
    count = int(facet.inner_text().rsplit(" ", 1)[1])
    facet.click()
    expect(page).to_have_url(re.compile(r"category="))
    expect(page.get_by_label("Category")).to_have_value(name)  # the form shows the filter now applied
    expect(hits).to_have_count(count)
    expect(page.get_by_test_id("result-count")).to_have_text(str(count))
    for index in range(count):
        expect(hits.nth(index).locator(".status")).to_have_text(name)
