"""Forms of the stock and order pages. Quantities arrive as text and are read by app/stock/quantities.py.

Every text field has a length bound (the database column's, or a few characters for a quantity), so
an oversized value is refused by validation before any parsing or query sees it.
"""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, FieldList, FormField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.stock.models import DECREASE_REASONS, INCREASE_REASONS, REASON_LABELS, OrderStatus, Reason
from app.stock.quantities import MAX_QUANTITY_CHARS

QUANTITY_CHARS = MAX_QUANTITY_CHARS
QUANTITY_TOO_LONG = f"A quantity is a whole number like +24: at most {MAX_QUANTITY_CHARS} characters."
KEY_TOO_LONG = "The form was altered; reload the page and try again."

# "" lets the sign choose: + is received, - is used.
CHANGE_REASONS = [SelectChoice("", "Reason: received / used")] + [
    SelectChoice(
        r.value, f"{REASON_LABELS[r]} ({'±' if r == Reason.CORRECTION else '+' if r in INCREASE_REASONS else '-'})"
    )
    for r in (*INCREASE_REASONS, *[d for d in DECREASE_REASONS if d != Reason.CORRECTION])
]


class ProductForm(FlaskForm):
    sku = StringField("SKU", validators=[DataRequired(message="A SKU is required."), Length(max=64)])
    name = StringField("Name", validators=[DataRequired(message="A name is required."), Length(max=200)])
    unit = StringField("Unit", default="pcs", validators=[Optional(), Length(max=32)])
    low_stock_threshold = IntegerField(
        "Low-stock threshold (warn at or below; 0 = never)", default=0, validators=[Optional(), NumberRange(min=0)]
    )
    reorder_quantity = IntegerField("Reorder quantity", default=0, validators=[Optional(), NumberRange(min=0)])
    active = BooleanField("Active (can be stocked and ordered)", default=True)


def _typed_quantity(label: str, missing: str) -> StringField:
    """A required quantity typed as text (quantities.py reads it), bounded so a huge value never reaches it."""
    return StringField(
        label, validators=[DataRequired(message=missing), Length(max=QUANTITY_CHARS, message=QUANTITY_TOO_LONG)]
    )


def _note_and_key() -> tuple[StringField, HiddenField]:
    """What every stock change's form carries besides its figure: a note for the ledger, and the key that
    makes submitting it twice one change."""
    note = StringField("Note", validators=[Optional(), Length(max=500)])
    key = HiddenField(validators=[Length(max=64, message=KEY_TOO_LONG)])
    return note, key


class AdjustForm(FlaskForm):
    """ "+24" with an optional reason; one form per product row, so each gets a prefix."""

    change = _typed_quantity("Add or remove", "Type a change like +24 or -3.")
    reason = SelectField("Reason", choices=CHANGE_REASONS, default="")
    note, idempotency_key = _note_and_key()


class CountForm(FlaskForm):
    counted = _typed_quantity("Counted on the shelf", "Type the number you counted.")
    note, idempotency_key = _note_and_key()


class ImportForm(FlaskForm):
    file = FileField("Products CSV file", validators=[FileRequired(message="Choose a CSV file to import.")])


class LineForm(FlaskForm):
    class Meta:
        csrf = False  # the order form around it carries the token

    sku = StringField("SKU", validators=[Optional(), Length(max=64)])
    quantity = StringField("Quantity", validators=[Optional(), Length(max=QUANTITY_CHARS, message=QUANTITY_TOO_LONG)])


class OrderForm(FlaskForm):
    reference = StringField("Reference (leave empty to number it)", validators=[Optional(), Length(max=64)])
    customer = StringField("Customer", validators=[DataRequired(message="Say who the order is for."), Length(max=200)])
    note = StringField("Note", validators=[Optional(), Length(max=500)])
    lines = FieldList(FormField(LineForm), min_entries=3, max_entries=200)


class FilterForm(FlaskForm):
    """A list page's filters: read from the query string, so they carry no CSRF token."""

    class Meta:
        csrf = False


def _date_range(since: str = "From", until: str = "Until") -> tuple[DateField, DateField]:
    """The two optional dates bounding a list (both inclusive), labelled for the page."""
    return DateField(since, validators=[Optional()]), DateField(until, validators=[Optional()])


def _pick(label: str, *choices: tuple[str, str]) -> SelectField:
    """A filter's drop-down of (value, label) choices; the first is what the page shows when none is asked for."""
    return SelectField(label, choices=[SelectChoice(value, text) for value, text in choices], default=choices[0][0])


class ProductFilterForm(FilterForm):
    q = StringField("Search SKU or name", validators=[Optional(), Length(max=100)])
    low = BooleanField("Low stock only")
    status = _pick("Show", ("active", "Active products"), ("inactive", "Inactive"), ("all", "All"))
    sort = _pick("Sort by", ("sku", "SKU"), ("name", "Name"), ("on_hand", "On hand"))


class LedgerFilterForm(FilterForm):
    sku = StringField("SKU", validators=[Optional(), Length(max=64)])
    reason = _pick("Reason", ("", "Any reason"), *[(r.value, REASON_LABELS[r]) for r in Reason])
    since, until = _date_range()


class OrderFilterForm(FilterForm):
    q = StringField("Reference or customer", validators=[Optional(), Length(max=100)])
    status = _pick("Status", ("", "Any status"), *[(s.value, s.value.title()) for s in OrderStatus])
    since, until = _date_range()


class AlertFilterForm(FilterForm):
    status = _pick("Show", ("all", "Open, then closed"), ("open", "Open"), ("closed", "Closed"))
    q = StringField("SKU or name", validators=[Optional(), Length(max=100)])
    acknowledged = _pick("Acknowledged", ("", "Either"), ("no", "Not yet"), ("yes", "Yes"))
    since, until = _date_range("Opened from", "Opened until")
