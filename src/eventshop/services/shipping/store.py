"""Shipping's statements for the paths every order takes (ship, cancel, the shipment's view), compiled once.

See platform/statements.py; tables.py defines the table they are written against.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

from eventshop.platform.statements import Prepared
from eventshop.services.shipping.tables import Base

SHIPMENTS = Base.metadata.tables["shipments"]

SHIPMENT = Prepared(select(SHIPMENTS).where(SHIPMENTS.c.order_id == bindparam("order_id")))
SHIPMENT_STATUS = Prepared(select(SHIPMENTS.c.status).where(SHIPMENTS.c.order_id == bindparam("order_id")))
NEW_SHIPMENT = Prepared(insert(SHIPMENTS), columns=[column.name for column in SHIPMENTS.c])
