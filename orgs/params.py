"""Numbers read from a request (query strings, form fields), parsed one way everywhere.

`str.isdigit()` and `int()` each accept more than ASCII digits ("²" is a digit to the
first and not a number to the second; "١٢", " 7", "1_000" are numbers to `int()`), and a
number too big for its column fails in the database, not here: a 500 either way.
"""

import re

_WHOLE = re.compile(r"[0-9]{1,9}")  # 9 digits: fits every integer column


def whole_number(value) -> int | None:
    """The whole number a request value spells in ASCII digits, or None for anything else
    (missing, empty, signed, spaced, non-ASCII, too long)."""
    if not isinstance(value, str) or not _WHOLE.fullmatch(value):
        return None
    return int(value)
