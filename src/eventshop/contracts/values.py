"""Value types shared by several events: order lines and money in minor units."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Currency = str  # ISO 4217, e.g. "EUR"

# Amounts and counts live in 32-bit integer columns: every input is bounded so none can overflow.
MAX_AMOUNT = 2**31 - 1  # minor units of a total, charge or refund (21,474,836.47 in a currency with cents)
MAX_UNIT_PRICE = 10_000_000  # minor units of one item (100,000.00)
MAX_UNITS = 1_000_000  # items in one line or one stock level
MAX_PAGE = 100_000  # highest page number a list endpoint accepts
MAX_ID = 64  # characters of an order, cart, customer or product id, and of a SKU
MAX_NAME = 200  # characters of a product name


def _number_not_text_or_boolean(value: object) -> object:
    """JSON `true` and `"2"` are not counts; `2` and `2.0` (the same JSON Schema integer) are."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a valid integer")
    return value


WholeNumber = Annotated[int, BeforeValidator(_number_not_text_or_boolean)]
# A total, charge or refund with its bounds inside the type, for `Amount | None`: bounds given on the field of such
# a union come out in the JSON schema as "ge"/"le", keywords JSON Schema does not know.
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT), BeforeValidator(_number_not_text_or_boolean)]


class OrderLine(BaseModel):
    """One product line of a cart or order. Prices are integer minor units (cents)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str = Field(min_length=1, max_length=MAX_ID)
    sku: str = Field(min_length=1, max_length=MAX_ID)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    quantity: WholeNumber = Field(gt=0, le=MAX_UNITS)
    unit_price: WholeNumber = Field(ge=0, le=MAX_UNIT_PRICE)
    currency: Currency = Field(min_length=3, max_length=3)

    @property
    def line_total(self) -> int:
        return self.quantity * self.unit_price


class StockShortage(BaseModel):
    """A line that could not be reserved: how many were asked for and how many were there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str
    sku: str
    name: str = ""  # the order line's product name, for the customer's email; "" in events from before it was sent
    requested: int
    available: int
