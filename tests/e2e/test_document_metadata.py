"""Filing a document in a real browser: the suggested date, saving title/correspondent/tags, a note, the list's
filters, and neither page scrolling sideways on a phone."""

import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def _upload(page: Page, tmp_path, text: str) -> str:
    """Upload one text file and open its page once processed; the file's name."""
    path = tmp_path / f"invoice-{uuid.uuid4().hex[:8]}.txt"
    path.write_text(text, encoding="utf-8")
    page.goto("/documents/upload")
    page.get_by_label("Drop files here, or choose them").set_input_files(str(path))
    row = page.locator("#upload-list .upload-row").filter(has_text=path.name)
    expect(row.get_by_test_id("doc-state")).to_have_attribute("data-state", "processed", timeout=30_000)
    with page.expect_navigation():
        row.get_by_role("link", name=path.stem).click()
    return path.name


def _no_sideways_scroll(page: Page) -> None:
    # Measured once the page has loaded with its stylesheet: a page still being parsed is laid out unstyled.
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_file_a_document_by_title_date_correspondent_tags_and_note(page: Page, sign_in, tmp_path, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    sign_in("staff")
    unique = uuid.uuid4().hex[:6]
    name = _upload(page, tmp_path, f"Invoice {unique}\nInvoice date: 12.04.2024\nTotal 40.00\n")

    expect(page.get_by_test_id("doc-title")).to_have_text(name.rsplit(".", 1)[0])
    expect(page.get_by_test_id("doc-filename")).to_have_text(name)
    expect(page.get_by_test_id("doc-date")).to_contain_text("2024-04-12")
    expect(page.get_by_test_id("doc-date")).to_contain_text("suggested")
    expect(page.get_by_test_id("confirm-suggestions")).to_be_visible()
    _no_sideways_scroll(page)

    page.get_by_test_id("title-input").fill(f"April invoice {unique}")
    page.get_by_test_id("correspondent-input").fill(f"Valley Mills {unique}")
    page.get_by_test_id("tags-input").fill(f"Urgent, tax-{unique}")
    page.get_by_test_id("save-details").click()
    expect(page.get_by_test_id("doc-title")).to_have_text(f"April invoice {unique}")
    expect(page.get_by_test_id("doc-date")).not_to_contain_text("suggested")  # saving confirmed it
    expect(page.get_by_test_id("doc-correspondent")).to_have_text(f"Valley Mills {unique}")
    expect(page.get_by_test_id("doc-tags")).to_contain_text(f"tax-{unique}")
    expect(page.get_by_test_id("doc-tags")).to_contain_text("urgent")

    page.get_by_test_id("note-input").fill("Paid on the 20th.")
    page.get_by_test_id("add-note").click()
    expect(page.get_by_test_id("notes")).to_contain_text("Paid on the 20th.")
    _no_sideways_scroll(page)

    page.get_by_test_id("doc-tags").get_by_role("link", name=f"tax-{unique}").click()
    expect(page.get_by_test_id("doc-link")).to_have_count(1)
    expect(page.get_by_test_id("doc-link")).to_have_text(f"April invoice {unique}")
    expect(page.get_by_label("Tag")).to_have_value(f"tax-{unique}")
    _no_sideways_scroll(page)


def test_a_bad_date_typed_without_the_date_picker_is_refused_with_a_sentence(page: Page, sign_in, tmp_path):
    sign_in("staff")
    _upload(page, tmp_path, f"Nothing to suggest {uuid.uuid4().hex}\n")
    page.evaluate("document.querySelector('[data-testid=date-input]').type = 'text'")
    page.get_by_test_id("date-input").fill("next tuesday")
    page.get_by_test_id("tags-input").fill("kept")
    page.get_by_test_id("save-details").click()
    expect(page.get_by_test_id("details-problem")).to_contain_text("is not a date")
    expect(page.get_by_test_id("tags-input")).to_have_value("kept")  # what the person typed is still there
    expect(page.get_by_test_id("doc-tags")).to_contain_text("none")
