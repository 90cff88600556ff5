"""Reviewing from the keyboard in a real browser: the next item swaps in and the counts follow, no reload."""

import random
import re
import string
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

TEXTS = [
    "INVOICE {tag}\nInvoice number {tag}\n12 x Green tea 1 kg 14.00 168.00\nTotal due 201.60 EUR incl. VAT\n"
    "Payment within 30 days",
    "Dear Ms Weber,\nthank you for your letter about order {tag}. We will call you next week.\nKind regards",
]


def _reference(tag: str) -> str:
    """A line of words no other upload has: without it the memory of reviews would file a text that an earlier test
    reviewed (the same letter with another order number is 95% alike), and the document would not wait."""
    rnd = random.Random(tag)
    return "Ref " + " ".join("".join(rnd.choices(string.ascii_lowercase, k=7)) for _ in range(24))


def _upload(page: Page, tmp_path) -> list[str]:
    """Upload two new text files; return their document ids once processed."""
    tag = uuid.uuid4().hex[:8]
    paths = []
    for number, text in enumerate(TEXTS):
        path = tmp_path / f"review-{tag}-{number}.txt"
        path.write_text(text.format(tag=tag) + "\n" + _reference(f"{tag}-{number}"), encoding="utf-8")
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


def _current_row(page: Page) -> str | None:
    return page.locator("#review-list tr[aria-current=true]").get_attribute("data-document")


def test_u_takes_the_last_decision_back_and_the_document_comes_back(page: Page, sign_in, tmp_path):
    sign_in("staff")
    first, _second = _upload(page, tmp_path)
    item = page.get_by_test_id("review-item")
    page.goto(f"/review?at={first}")
    expect(item).to_have_attribute("data-document", first)
    waiting = int(page.get_by_test_id("waiting-count").inner_text())

    page.keyboard.press("a")
    expect(item).not_to_have_attribute("data-document", first)
    expect(page.get_by_test_id("waiting-count")).to_have_text(str(waiting - 1))
    expect(page.get_by_test_id("undo")).to_contain_text("Undo filing review-")

    page.keyboard.press("u")

    expect(item).to_have_attribute("data-document", first)
    expect(page.get_by_test_id("decided")).to_contain_text("Undone:")
    expect(page.get_by_test_id("waiting-count")).to_have_text(str(waiting))
    page.reload()  # the history lives on the server
    expect(item).to_have_attribute("data-document", first)
    page.goto(f"/documents/{first}")
    expect(page.get_by_test_id("doc-category")).not_to_contain_text("reviewed")


def test_the_highlighted_row_follows_j_and_k_and_s_sends_the_item_to_the_end(page: Page, sign_in, tmp_path):
    sign_in("staff")
    first, _second = _upload(page, tmp_path)
    item = page.get_by_test_id("review-item")
    page.goto(f"/review?at={first}")
    expect(item).to_have_attribute("data-document", first)
    assert _current_row(page) == first

    page.keyboard.press("j")
    expect(item).not_to_have_attribute("data-document", first)
    moved_to = item.get_attribute("data-document")
    expect(page.locator("#review-list tr[aria-current=true]")).to_have_attribute("data-document", moved_to)
    page.keyboard.press("k")
    expect(item).to_have_attribute("data-document", first)
    expect(page.locator("#review-list tr[aria-current=true]")).to_have_attribute("data-document", first)

    page.keyboard.press("s")

    expect(page.get_by_test_id("decided")).to_contain_text("it is at the end of your queue")
    expect(item).not_to_have_attribute("data-document", first)
    expect(page.locator("#review-list tbody tr").last).to_have_attribute("data-document", first)


def test_select_all_then_bulk_accept_asks_first_and_says_what_will_happen(page: Page, sign_in, tmp_path):
    sign_in("staff")
    first, second = _upload(page, tmp_path)
    page.goto(f"/review?at={first}")
    boxes = page.locator('#review-list input[name="document_id"]:not(:disabled)')

    page.get_by_test_id("select-all").check()
    count = boxes.count()
    for index in range(count):
        expect(boxes.nth(index)).to_be_checked()
    page.get_by_test_id("bulk-accept").click()
    expect(page.get_by_test_id("bulk-plan")).to_contain_text(f"{count} document")
    page.get_by_test_id("bulk-confirm-no").click()
    expect(page.get_by_test_id("bulk-confirm")).to_have_count(0)  # cancelled: nothing filed

    page.get_by_test_id("select-all").uncheck()
    page.locator(f'#review-list input[name="document_id"][value="{first}"]').check()
    page.locator(f'#review-list input[name="document_id"][value="{second}"]').check()
    page.get_by_test_id("bulk-accept").click()
    expect(page.get_by_test_id("bulk-plan")).to_contain_text("2 documents will be filed")
    page.get_by_test_id("bulk-confirm-yes").click()

    expect(page.get_by_test_id("decided")).to_contain_text("Accepted 2 suggestions.")
    expect(page.locator(f'#review-list tr[data-document="{first}"]')).to_have_count(0)


def test_an_error_goes_away_when_the_next_action_succeeds(page: Page, sign_in, tmp_path):
    sign_in("staff")
    first, _second = _upload(page, tmp_path)
    page.goto(f"/review?at={first}")
    # A category button whose value the server cannot use: the decision is refused with a sentence.
    page.locator('#review-item [data-key="1"]').evaluate("button => { button.value = 'abc'; }")

    page.keyboard.press("1")
    expect(page.locator("#messages")).to_contain_text("Choose a category from the list.")

    page.keyboard.press("j")
    expect(page.locator("#messages")).not_to_contain_text("Choose a category")


def test_on_a_phone_the_review_page_fits_and_its_buttons_are_large(page: Page, sign_in, tmp_path):
    sign_in("staff")
    table = tmp_path / f"table-{uuid.uuid4().hex[:8]}.txt"
    line = "{:<4} Product with a rather long name number {:<6} {:>10.2f} {:>12.2f}\n"
    rows = "".join(line.format(n, n, n * 3.5, n * 7) for n in range(8))
    header = "Qty  Item" + " " * 43 + "Price        Total\n"
    table.write_text(header + rows, encoding="utf-8")
    page.goto("/documents/upload")
    page.get_by_label("Drop files here, or choose them").set_input_files([str(table)])
    row = page.locator("#upload-list .upload-row").filter(has_text=table.name)
    expect(row.get_by_test_id("doc-state")).to_have_attribute("data-state", "processed", timeout=30_000)
    href = row.get_by_role("link", name=table.name).get_attribute("href")
    document_id = re.search(r"/documents/(\d+)", href).group(1)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"/review?at={document_id}")

    expect(page.get_by_test_id("excerpt")).to_have_class(re.compile(r"\btabular\b"))
    assert "monospace" in page.get_by_test_id("excerpt").evaluate("e => getComputedStyle(e).fontFamily")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for test_id in ("accept", "skip", "next", "previous"):
        box = page.get_by_test_id(test_id).bounding_box()
        assert box["height"] >= 44, f"{test_id} is {box['height']} px tall"
    categories = page.locator("#review-item .category-keys button")
    for index in range(categories.count()):
        assert categories.nth(index).bounding_box()["height"] >= 44
