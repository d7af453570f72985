"""Value types shared by several events: order lines and money in minor units."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Currency = str  # ISO 4217, e.g. "EUR"


class OrderLine(BaseModel):
    """One product line of a cart or order. Prices are integer minor units (cents)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str
    sku: str
    name: str
    quantity: int = Field(gt=0)
    unit_price: int = Field(ge=0)
    currency: Currency = Field(min_length=3, max_length=3)

    @property
    def line_total(self) -> int:
        return self.quantity * self.unit_price


class StockShortage(BaseModel):
    """A line that could not be reserved: how many were asked for and how many were there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str
    sku: str
    requested: int
    available: int
