"""Reviewing from the keyboard in a real browser: the next item swaps in and the counts follow, no reload."""

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

TEXTS = [
    "INVOICE {tag}\nInvoice number {tag}\n12 x Green tea 1 kg 14.00 168.00\nTotal due 201.60 EUR incl. VAT\n"
    "Payment within 30 days",
    "Dear Ms Weber,\nthank you for your letter about order {tag}. We will call you next week.\nKind regards",
]


def _upload(page: Page, tmp_path) -> list[str]:
    """Upload two new text files; return their document ids once processed."""
    tag = uuid.uuid4().hex[:8]
    paths = []
    for number, text in enumerate(TEXTS):
        path = tmp_path / f"review-{tag}-{number}.txt"
        path.write_text(text.format(tag=tag), encoding="utf-8")
        paths.append(path)
    page.goto("/documents/upload")
    page.get_by_label("Drop files here, or choose them").set_input_files([str(p) for p in paths])
    ids = []
    for path in paths:
        row = page.locator("#upload-list .upload-row").filter(has_text=path.name)
        expect(row.get_by_test_id("doc-state")).to_have_attribute("data-state", "processed", timeout=30_000)
        href = row.get_by_role("link", name=path.name).get_attribute("href")
        ids.append(re.search(r"/documents/(\d+)", href).group(1))
    return ids


def _count(page: Page, category: str) -> int:
    return int(page.get_by_test_id(f"count-{category.replace(' ', '-')}").inner_text())


def test_press_a_to_accept_and_3_to_file_under_the_third_category(page: Page, sign_in, tmp_path):
    sign_in("staff")
    first, second = _upload(page, tmp_path)
    item = page.get_by_test_id("review-item")

    page.goto(f"/review?at={first}")
    expect(item).to_have_attribute("data-document", first)
    suggested = re.search("Accept “(.+)”", page.get_by_test_id("accept").inner_text()).group(1)
    accepted_before = _count(page, suggested)
    page.evaluate("window.stillTheSamePage = true")

    page.keyboard.press("a")

    expect(page.get_by_test_id("decided")).to_contain_text(f"under {suggested}")
    expect(item).not_to_have_attribute("data-document", first)  # the next item swapped in
    expect(page.get_by_test_id(f"count-{suggested.replace(' ', '-')}")).to_have_text(str(accepted_before + 1))
    assert page.evaluate("window.stillTheSamePage") is True  # no reload
    assert re.search(r"/review\?at=\d+$", page.url)  # the address follows the item

    page.goto(f"/review?at={second}")
    expect(item).to_have_attribute("data-document", second)
    third = page.get_by_test_id("review-item").locator('[data-key="3"]').inner_text().split(maxsplit=1)[1]
    third_before = _count(page, third)
    page.evaluate("window.stillTheSamePage = true")

    page.keyboard.press("3")

    expect(page.get_by_test_id("decided")).to_contain_text(f"under {third}")
    expect(page.get_by_test_id(f"count-{third.replace(' ', '-')}")).to_have_text(str(third_before + 1))
    assert page.evaluate("window.stillTheSamePage") is True
    page.goto(f"/documents/{second}")
    expect(page.get_by_test_id("doc-category")).to_contain_text(third)
    expect(page.get_by_test_id("doc-category")).to_contain_text("reviewed")


def test_j_and_k_move_through_the_queue_without_deciding(page: Page, sign_in, tmp_path):
    sign_in("staff")
    first, _second = _upload(page, tmp_path)
    item = page.get_by_test_id("review-item")
    page.goto(f"/review?at={first}")
    expect(item).to_have_attribute("data-document", first)
    waiting = page.get_by_test_id("waiting-count").inner_text()

    page.keyboard.press("j")
    expect(item).not_to_have_attribute("data-document", first)
    page.keyboard.press("k")
    expect(item).to_have_attribute("data-document", first)
    expect(page.get_by_test_id("waiting-count")).to_have_text(waiting)
