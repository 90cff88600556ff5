"""CSV exports cannot smuggle spreadsheet formulas and write values a person can read."""

from datetime import UTC, datetime

from app.csvio import cell, iter_csv


def test_formulas_are_defused():
    for value in ["=SUM(A1:A9)", "+1+1", "-2+3", "@cmd", "\t=x"]:
        assert cell(value).startswith("'")


def test_numbers_and_times_stay_as_they_are():
    assert cell(-12) == "-12"
    assert cell(3.5) == "3.5"
    assert cell(None) == ""
    assert cell(True) == "true"
    assert cell(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"


def test_rows_are_quoted_by_the_csv_module():
    """Every cell is quoted (issue 12): a separator inside a value never starts a new cell."""
    text = "".join(iter_csv(["name", "note"], [["Widget, large", 'says "hi"']]))
    assert text == '"name","note"\r\n"Widget, large","says ""hi"""\r\n'
