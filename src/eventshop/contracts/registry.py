"""The system model as data: the seed's containers, topics, publications, subscriptions and requests.

Streams, consumers, the AsyncAPI document and `eventshop architecture` are derived from
these tables; rows the seed does not have are marked `addition=True`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Topic:
    key: str  # stream and subject prefix, e.g. "payment"
    name: str  # the seed's name, e.g. "Payment Topic"

    @property
    def stream(self) -> str:
        return self.key.upper().replace("-", "_")


@dataclass(frozen=True)
class ServiceInfo:
    key: str  # the CLI and settings name, e.g. "order"
    name: str  # the seed's name, e.g. "Order Service"
    database: str | None  # the seed's database name, if it has one
    topic: str | None  # key of the topic it publishes to
    database_is_addition: bool = False


# How an order's saga runs (EVENTSHOP_SAGA): services react to each other's events (choreography),
# or the Order Service calls each step and waits for its answer (orchestration).
Style = Literal["choreography", "orchestration"]
STYLES: tuple[Style, ...] = ("choreography", "orchestration")
CHOREOGRAPHY: tuple[Style, ...] = ("choreography",)
ORCHESTRATION: tuple[Style, ...] = ("orchestration",)


@dataclass(frozen=True)
class Publication:
    service: str
    topic: str
    events: tuple[str, ...]


@dataclass(frozen=True)
class Subscription:
    service: str
    topic: str
    events: tuple[str, ...]
    addition: bool = False
    styles: tuple[Style, ...] = STYLES  # the saga styles whose running services consume it


@dataclass(frozen=True)
class Request:
    source: str  # a service key, "frontend", or "customer"
    target: str  # a service key, database name, or external system name
    description: str
    kind: Literal["calls", "request", "store", "uses"]
    addition: bool = False
    styles: tuple[Style, ...] = STYLES  # the saga styles that make this call


TOPICS: dict[str, Topic] = {
    t.key: t
    for t in (
        Topic("account", "Account Topic"),
        Topic("inventory", "Inventory Topic"),
        Topic("order", "Order Topic"),
        Topic("payment", "Payment Topic"),
        Topic("shipping", "Shipping Topic"),
        Topic("shopping-cart", "Shopping Cart Topic"),
    )
}

SERVICES: dict[str, ServiceInfo] = {
    s.key: s
    for s in (
        ServiceInfo("account", "Account Service", "Account Database", "account"),
        ServiceInfo("catalog", "Product Catalog Service", "Product Catalog Database", None),
        ServiceInfo("inventory", "Inventory Service", "Inventory Database", "inventory"),
        ServiceInfo("cart", "Shopping Cart Service", "Shopping Cart Database", "shopping-cart"),
        ServiceInfo("order", "Order Service", "Order Database", "order"),
        ServiceInfo("payment", "Payment Service", "Payment DB", "payment"),
        ServiceInfo("shipping", "Shipping Service", "Shipping Database", "shipping"),
        ServiceInfo(
            "notification",
            "Notification Service",
            "Notification Database",
            None,
            database_is_addition=True,
        ),
    )
}

FRONTEND = "Shop Frontend"
CUSTOMER = "Customer"
EXTERNAL_SYSTEMS = ("Email System", "Logistics System", "Payment System")
INTERNAL_SYSTEMS = ("Online Shop",)

PUBLICATIONS: tuple[Publication, ...] = (
    Publication("cart", "shopping-cart", ("ShoppingCartOrderedEvent",)),
    Publication("inventory", "inventory", ("InventoryProcessedEvent", "InventoryOutOfStockEvent")),
    Publication("payment", "payment", ("PaymentProcessedEvent", "PaymentFailedEvent")),
    Publication("order", "order", ("OrderProcessedEvent", "OrderCancelledEvent")),
    Publication("shipping", "shipping", ("ShippingProcessedEvent", "ShippingFailedEvent")),
    Publication(
        "account",
        "account",
        ("AccountCreatedEvent", "AccountUpdatedEvent", "AccountDeactivatedEvent"),
    ),
)

_ACCOUNT_EVENTS = ("AccountCreatedEvent", "AccountUpdatedEvent", "AccountDeactivatedEvent")

SUBSCRIPTIONS: tuple[Subscription, ...] = (
    # In orchestration the events below still go out (they say what happened: audit, `events tail`), but
    # the consumers that would drive the saga are not started: Order calls each step instead, and
    # Notification mails on "Notify Customer" only.
    Subscription("order", "payment", ("PaymentProcessedEvent", "PaymentFailedEvent"), styles=CHOREOGRAPHY),
    Subscription("order", "shipping", ("ShippingProcessedEvent", "ShippingFailedEvent"), styles=CHOREOGRAPHY),
    Subscription("payment", "inventory", ("InventoryOutOfStockEvent",), styles=CHOREOGRAPHY),
    Subscription("notification", "payment", ("PaymentProcessedEvent", "PaymentFailedEvent"), styles=CHOREOGRAPHY),
    Subscription("shipping", "payment", ("PaymentProcessedEvent", "PaymentFailedEvent"), styles=CHOREOGRAPHY),
    # Both styles: the cart's checkout event moves the order to processing, and in orchestration starts its saga.
    Subscription("order", "shopping-cart", ("ShoppingCartOrderedEvent",)),
    Subscription("notification", "shipping", ("ShippingProcessedEvent", "ShippingFailedEvent"), styles=CHOREOGRAPHY),
    Subscription("notification", "inventory", ("InventoryProcessedEvent", "InventoryOutOfStockEvent"),
                 styles=CHOREOGRAPHY),
    Subscription("notification", "account", _ACCOUNT_EVENTS),
    Subscription("payment", "account", _ACCOUNT_EVENTS),
    Subscription("inventory", "order", ("OrderProcessedEvent", "OrderCancelledEvent"), styles=CHOREOGRAPHY),
    Subscription("payment", "shopping-cart", ("ShoppingCartOrderedEvent",)),
    Subscription("payment", "shipping", ("ShippingFailedEvent",), styles=CHOREOGRAPHY),
    Subscription("payment", "inventory", ("InventoryProcessedEvent",), styles=CHOREOGRAPHY),
    Subscription("notification", "order", ("OrderProcessedEvent", "OrderCancelledEvent"), styles=CHOREOGRAPHY),
    # Addition: the seed has no OrderShipped event; without it Inventory cannot tell a shipped order's
    # units (sold) from those of an order still in flight (held), and held units would only ever grow.
    # Both styles: it books a shipment that already happened and drives no step.
    Subscription("inventory", "shipping", ("ShippingProcessedEvent",), addition=True),
)

REQUESTS: tuple[Request, ...] = (
    Request("frontend", "order", "get products, place orders", "calls"),
    Request("payment", "account", "Payment Data", "request"),
    Request("order", "payment", "Payment for Order", "request", styles=ORCHESTRATION),
    Request("order", "notification", "Notify Customer", "request", styles=ORCHESTRATION),
    Request("payment", "Payment System", "Trigger Payment", "request"),
    Request("notification", "Email System", "Send Email", "request"),
    Request("catalog", "inventory", "Check Inventory", "request"),
    Request("order", "shipping", "Ship Order", "request", styles=ORCHESTRATION),
    Request("notification", "account", "Email for Account", "request"),
    Request("cart", "catalog", "Product Data", "request"),
    Request("shipping", "account", "Account Address", "request"),
    Request("shipping", "Logistics System", "Ship Order", "request"),
    Request("order", "inventory", "Update Inventory", "request", styles=ORCHESTRATION),
    Request("cart", "order", "Create Order", "request"),
    Request("account", "Account Database", "Account Data", "store"),
    Request("order", "Order Database", "Order Data", "store"),
    Request("cart", "Shopping Cart Database", "Shopping Cart Data", "store"),
    Request("payment", "Payment DB", "Payment Data", "store"),
    Request("inventory", "Inventory Database", "Inventory Data", "store"),
    Request("shipping", "Shipping Database", "Shipping Data", "store"),
    Request("catalog", "Product Catalog Database", "Product Catalog", "store"),
    Request("customer", "frontend", "browse products, place orders", "uses"),
    # Additions: what the frontend and the notification log need beyond the seed.
    Request("frontend", "catalog", "browse products, availability", "calls", addition=True),
    Request("frontend", "cart", "manage the cart, check out", "calls", addition=True),
    Request("frontend", "account", "sign up, sign in, account settings", "calls", addition=True),
    Request("notification", "Notification Database", "Notification Log", "store", addition=True),
    # Without it the cart cannot refuse a deactivated customer's checkout with a clear 4xx.
    Request("cart", "account", "Account Status", "request", addition=True),
)


def subscriptions_of(service: str, style: Style | None = None) -> tuple[Subscription, ...]:
    """A service's subscriptions: those of one saga style, or (None) of any style."""
    return tuple(s for s in SUBSCRIPTIONS if s.service == service and (style is None or style in s.styles))


def consumed_by(service: str, style: Style | None = None) -> dict[str, tuple[str, ...]]:
    """Topic -> event types one service consumes (in one saga style, or any), merging rows on the same topic."""
    merged: dict[str, list[str]] = {}
    for sub in subscriptions_of(service, style):
        merged.setdefault(sub.topic, [])
        merged[sub.topic] += [e for e in sub.events if e not in merged[sub.topic]]
    return {topic: tuple(events) for topic, events in merged.items()}


def published_by(service: str) -> tuple[str, ...]:
    return tuple(e for p in PUBLICATIONS if p.service == service for e in p.events)


def requests_from(source: str, style: Style | None = None) -> tuple[Request, ...]:
    """The requests `source` makes: in one saga style, or (None) in any."""
    return tuple(r for r in REQUESTS if r.source == source and (style is None or style in r.styles))


def callers_of(target: str) -> frozenset[str]:
    """Which services the registry allows to call `target` over HTTP."""
    return frozenset(r.source for r in REQUESTS if r.target == target and r.kind in ("calls", "request"))


def display_name(key: str) -> str:
    """The seed's name for a registry key (service, topic, frontend, customer) or a name as is."""
    if key in SERVICES:
        return SERVICES[key].name
    if key == "frontend":
        return FRONTEND
    if key == "customer":
        return CUSTOMER
    return key
