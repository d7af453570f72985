"""Money as a customer reads it: the one formatter every page, email and timeline line uses."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

# The shop speaks English; Babel's "en" writes €12.50, $0.05, £5.00 and -SEK2.50.
LOCALE = "en"


def format_money(amount: int, currency: str) -> str:
    """Integer minor units as a price: 1250 EUR -> "€12.50"; the currency's own decimals (JPY has none)."""
    code = currency.upper()
    value = Decimal(int(amount)).scaleb(-get_currency_precision(code))
    return format_currency(value, code, locale=LOCALE)
