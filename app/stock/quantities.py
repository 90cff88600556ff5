"""What a quantity is: a whole number within the allowed range, and reading one as a person typed it.

The ledger, products, orders and the forms all bound quantities the same way, so the rule lives
here, below all of them, and none of them needs another to check a number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask import current_app

from app.stock.errors import InvalidQuantity, InvalidReason
from app.stock.models import Reason

# A quantity as typed: an optional sign, spaces, up to 12 digits. Matched with fullmatch on text that is
# already stripped and bounded: the sign and the spaces cannot trade characters, so it never backtracks.
_CHANGE = re.compile(r"([+-]?)\s*(\d{1,12})")
MAX_QUANTITY_CHARS = 20  # "+24" needs 3; anything longer than this is not a quantity a person typed


def max_movement() -> int:
    """The most units one change may move; a setting, because a warehouse's scale differs from a shop's."""
    return current_app.config["MAX_MOVEMENT"]


def check_quantity(quantity: object, *, what: str = "quantity", allow_zero: bool = False) -> int:
    """A whole number within the allowed range, or InvalidQuantity saying what is wrong."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(f"The {what} must be a whole number, not {quantity!r}.")
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise InvalidQuantity(
            f"The {what} must be more than zero." if not allow_zero else f"The {what} cannot be negative."
        )
    limit = max_movement()
    if quantity > limit:
        raise InvalidQuantity(f"The {what} {quantity} is more than the {limit} allowed in one go.")
    return quantity


def _quantity_parts(text: str | None) -> tuple[str, str] | None:
    """The sign and digits of a typed quantity, or None.

    Bounded first and stripped before the one regular expression, which is a fullmatch with
    nothing to backtrack over: a field of 50,000 spaces used to take half a minute here.
    """
    text = (text or "").strip()
    if len(text) > MAX_QUANTITY_CHARS:
        return None
    match = _CHANGE.fullmatch(text)
    return (match.group(1), match.group(2)) if match else None


def _shown(text: str | None) -> str:
    """The start of what was typed, for an error message (never the whole of a huge value)."""
    return repr((text or "")[:200].strip()[:40])


def parse_change(text: str) -> int:
    """`+24`, `24` or `-3` as a signed whole number; anything else is InvalidQuantity."""
    parts = _quantity_parts(text)
    if parts is None:
        raise InvalidQuantity(f"Type a whole number like +24 or -3, not {_shown(text)}.")
    sign, digits = parts
    value = int(digits)
    check_quantity(value, what="change")
    return -value if sign == "-" else value


def parse_count(text: str) -> int:
    """A counted figure: a whole number, zero or more."""
    parts = _quantity_parts(text)
    if parts is None or parts[0]:
        raise InvalidQuantity(f"Type the number you counted, like 42, not {_shown(text)}.")
    return check_quantity(int(parts[1]), what="count", allow_zero=True)


def parse_order_quantity(text: str, *, line: int) -> int:
    """How many units an order line asks for: a whole number above zero, told in the order's words (a minus
    sign or a zero is not a stock count's mistake here, so the message does not speak of counting)."""
    parts = _quantity_parts(text)
    if parts is not None and parts[0] != "-":
        return check_quantity(int(parts[1]), what=f"quantity on line {line}")
    if parts is not None:
        raise InvalidQuantity(
            f"Type the number of units to order, more than zero, like 3, not {_shown(text)}:"
            " an order line only takes stock (cancelling a placed order brings it back)."
        )
    raise InvalidQuantity(f"Type the number of units to order, like 3, not {_shown(text)}.")


def check_reason(value: str | Reason, allowed: Sequence[Reason], direction: str) -> Reason:
    """The reason as a `Reason`, if it is one that may move stock in this direction."""
    try:
        reason = Reason(value)
    except ValueError:
        reason = None
    if reason not in allowed:
        names = ", ".join(r.value for r in allowed)
        raise InvalidReason(f"{value!r} is not a reason to {direction} stock; use one of {names}.")
    return reason
