"""Tables of the Inventory Database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from eventshop.platform.db import UTCDateTime, new_metadata, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()


class Stock(Base):
    __tablename__ = "stock"

    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    available: Mapped[int] = mapped_column(Integer)  # can be sold now
    held: Mapped[int] = mapped_column(Integer, default=0)  # reserved for orders still in flight
    sold: Mapped[int] = mapped_column(Integer, default=0)  # of orders that shipped
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Reservation(Base):
    __tablename__ = "reservations"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReservationLine(Base):
    __tablename__ = "reservation_lines"

    order_id: Mapped[str] = mapped_column(ForeignKey("reservations.order_id"), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
