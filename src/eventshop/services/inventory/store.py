"""Inventory's statements for the paths every order takes (reserve, release, sell), compiled once.

See platform/statements.py. Stock moves are relative (`available - :quantity`) and run on rows the
transaction has locked; the stock-take, listings and the reservation view stay on the ORM (tables.py).
"""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, insert, select, update

from eventshop.platform.db import UTCDateTime
from eventshop.platform.statements import Prepared
from eventshop.services.inventory.tables import Base

STOCK = Base.metadata.tables["stock"]
RESERVATIONS = Base.metadata.tables["reservations"]
LINES = Base.metadata.tables["reservation_lines"]

_RESERVATION_STATUS = select(RESERVATIONS.c.status).where(RESERVATIONS.c.order_id == bindparam("order_id"))
RESERVATION_STATUS = Prepared(_RESERVATION_STATUS)
RESERVATION_STATUS_FOR_UPDATE = Prepared(_RESERVATION_STATUS, for_update=True)
NEW_RESERVATION = Prepared(insert(RESERVATIONS), columns=("order_id", "status", "created_at", "updated_at"))
# The where clause's key is not named like a column: SQLAlchemy keeps such names for the SET clause.
MOVE_RESERVATION = Prepared(update(RESERVATIONS).where(RESERVATIONS.c.order_id == bindparam("order")).values(
    status=bindparam("status"), updated_at=bindparam("now")))

RESERVED_LINES = Prepared(select(LINES.c.product_id, LINES.c.quantity)
                          .where(LINES.c.order_id == bindparam("order_id")).order_by(LINES.c.product_id))
NEW_LINE = Prepared(insert(LINES), columns=("order_id", "product_id", "quantity"))

AVAILABLE_FOR_UPDATE = Prepared(select(STOCK.c.product_id, STOCK.c.available)
                                .where(STOCK.c.product_id == bindparam("product_id")), for_update=True)


_QUANTITY, _NOW = bindparam("quantity", type_=Integer()), bindparam("now", type_=UTCDateTime())
_ONE_PRODUCT = update(STOCK).where(STOCK.c.product_id == bindparam("product"))
HOLD = Prepared(_ONE_PRODUCT.values(available=STOCK.c.available - _QUANTITY, held=STOCK.c.held + _QUANTITY,
                                    updated_at=_NOW))
RELEASE = Prepared(_ONE_PRODUCT.values(available=STOCK.c.available + _QUANTITY, held=STOCK.c.held - _QUANTITY,
                                       updated_at=_NOW))
SELL = Prepared(_ONE_PRODUCT.values(held=STOCK.c.held - _QUANTITY, sold=STOCK.c.sold + _QUANTITY, updated_at=_NOW))
