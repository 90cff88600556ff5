"""Forms of the stock and order pages. Quantities arrive as text and are parsed by the service.

Every text field has a length bound (the database column's, or a few characters for a quantity), so
an oversized value is refused by validation before any parsing or query sees it.
"""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, FieldList, FormField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.stock.models import DECREASE_REASONS, INCREASE_REASONS, REASON_LABELS, OrderStatus, Reason
from app.stock.service import MAX_QUANTITY_CHARS

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


class AdjustForm(FlaskForm):
    """ "+24" with an optional reason; one form per product row, so each gets a prefix."""

    change = StringField(
        "Add or remove",
        validators=[
            DataRequired(message="Type a change like +24 or -3."),
            Length(max=QUANTITY_CHARS, message=QUANTITY_TOO_LONG),
        ],
    )
    reason = SelectField("Reason", choices=CHANGE_REASONS, default="")
    note = StringField("Note", validators=[Optional(), Length(max=500)])
    idempotency_key = HiddenField(validators=[Length(max=64, message=KEY_TOO_LONG)])


class CountForm(FlaskForm):
    counted = StringField(
        "Counted on the shelf",
        validators=[
            DataRequired(message="Type the number you counted."),
            Length(max=QUANTITY_CHARS, message=QUANTITY_TOO_LONG),
        ],
    )
    note = StringField("Note", validators=[Optional(), Length(max=500)])
    idempotency_key = HiddenField(validators=[Length(max=64, message=KEY_TOO_LONG)])


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


class ProductFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search SKU or name", validators=[Optional(), Length(max=100)])
    low = BooleanField("Low stock only")
    status = SelectField(
        "Show",
        choices=[
            SelectChoice("active", "Active products"),
            SelectChoice("inactive", "Inactive"),
            SelectChoice("all", "All"),
        ],
        default="active",
    )
    sort = SelectField(
        "Sort by",
        choices=[SelectChoice("sku", "SKU"), SelectChoice("name", "Name"), SelectChoice("on_hand", "On hand")],
        default="sku",
    )


class LedgerFilterForm(FlaskForm):
    class Meta:
        csrf = False

    sku = StringField("SKU", validators=[Optional(), Length(max=64)])
    reason = SelectField(
        "Reason",
        choices=[SelectChoice("", "Any reason")] + [SelectChoice(r.value, REASON_LABELS[r]) for r in Reason],
        default="",
    )
    since = DateField("From", validators=[Optional()])
    until = DateField("Until", validators=[Optional()])


class OrderFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Reference or customer", validators=[Optional(), Length(max=100)])
    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Any status")] + [SelectChoice(s.value, s.value.title()) for s in OrderStatus],
        default="",
    )
    since = DateField("From", validators=[Optional()])
    until = DateField("Until", validators=[Optional()])


class AlertFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        "Show",
        choices=[
            SelectChoice("all", "Open, then closed"),
            SelectChoice("open", "Open"),
            SelectChoice("closed", "Closed"),
        ],
        default="all",
    )
    q = StringField("SKU or name", validators=[Optional(), Length(max=100)])
    acknowledged = SelectField(
        "Acknowledged",
        choices=[SelectChoice("", "Either"), SelectChoice("no", "Not yet"), SelectChoice("yes", "Yes")],
        default="",
    )
    since = DateField("Opened from", validators=[Optional()])
    until = DateField("Opened until", validators=[Optional()])
