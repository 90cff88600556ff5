"""Uploading in a real browser: three files at once, live status to processed, download byte-identical."""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support import documents as files

pytestmark = pytest.mark.e2e


def test_upload_three_files_and_watch_them_finish(page: Page, sign_in, tmp_path):
    tag = uuid.uuid4().hex[:8]  # unique content: these files were never uploaded before
    paths = [
        files.make_text_pdf(tmp_path / f"invoice-{tag}.pdf", [f"Invoice {tag}", "Ten boxes of jasmine tea"]),
        files.make_docx(tmp_path / f"contract-{tag}.docx", [f"Contract {tag} for cups"]),
    ]
    note = tmp_path / f"note-{tag}.txt"
    note.write_text(f"Delivery note {tag}\nThree pallets\n", encoding="utf-8")
    paths.append(note)

    sign_in("staff")
    page.goto("/documents/upload")
    page.get_by_label("Drop files here, or choose them").set_input_files([str(p) for p in paths])
    rows = page.locator("#upload-list .upload-row")
    expect(rows).to_have_count(3)
    for path in paths:
        row = rows.filter(has_text=path.name)
        expect(row.locator("progress")).to_have_attribute("value", "100")
        expect(row.get_by_test_id("doc-state")).to_have_attribute("data-state", "processed", timeout=30_000)
    assert page.url.endswith("/documents/upload")  # no reload: the states updated in place

    with page.expect_navigation():
        rows.filter(has_text=paths[0].name).get_by_role("link", name=paths[0].name).click()
    expect(page.get_by_test_id("doc-text")).to_contain_text("Ten boxes of jasmine tea")
    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    download = download_info.value
    assert download.suggested_filename == paths[0].name
    assert Path(download.path()).read_bytes() == paths[0].read_bytes()


def test_the_same_file_again_says_when_and_as_what(page: Page, sign_in, tmp_path):
    path = tmp_path / f"again-{uuid.uuid4().hex[:8]}.txt"
    path.write_text(f"unique {uuid.uuid4()}", encoding="utf-8")
    sign_in("staff")
    page.goto("/documents/upload")
    upload = page.get_by_label("Drop files here, or choose them")
    upload.set_input_files(str(path))
    expect(page.get_by_test_id("doc-state").first).to_have_attribute(
        "data-state", re.compile("queued|processing|processed")
    )
    upload.set_input_files(str(path))
    expect(page.get_by_test_id("duplicate")).to_contain_text(f"as {path.name}")
