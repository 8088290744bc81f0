"""Money as integer cents, with one rounding rule: half up to the cent, once per line item.

Floats never touch money here: amounts are ints (cents) and rates are Decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Cents = int

_ONE_CENT = Decimal(1)


def round_half_up(cents: Decimal) -> Cents:
    """Round an exact amount in cents to a whole cent, halves away from zero."""
    return int(cents.quantize(_ONE_CENT, rounding=ROUND_HALF_UP))


def percent_of(cents: Cents, rate: Decimal) -> Cents:
    """`rate` (0.20 for 20%) of an amount, rounded half up once."""
    return round_half_up(Decimal(cents) * rate)


def parse_dollars(value: str | int | Decimal) -> Cents:
    """Parse "31.00", 31 or Decimal("31.5") into cents; reject fractions of a cent.

    Raises ValueError with a plain message (rule-file validators show it to the analyst).
    """
    if isinstance(value, (bool, float)):
        raise ValueError(f'write money as a string like "31.00", not {value!r}')
    try:
        amount = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount of money") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount of money")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{value!r} has a fraction of a cent")
    return int(cents)


def format_usd(cents: Cents) -> str:
    """$1,234.56 (with a leading minus for negative amounts)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{frac:02d}"


def dollars_str(cents: Cents) -> str:
    """1234.56 as plain text without the dollar sign (for files and JSON)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"
