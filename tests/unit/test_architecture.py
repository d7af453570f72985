"""`eventshop architecture` against the seed's tables, row by row (the rows are transcribed here)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from eventshop.cli.main import app
from eventshop.contracts.architecture import as_markdown, system_model
from eventshop.contracts.asyncapi import asyncapi_document
from eventshop.contracts.events import ALL_EVENTS

SEED_CONTAINERS = [
    "Account Database", "Account Service", "Account Topic", "Inventory Database", "Inventory Service",
    "Inventory Topic", "Notification Service", "Order Database", "Order Service", "Order Topic", "Payment DB",
    "Payment Service", "Payment Topic", "Product Catalog Database", "Product Catalog Service", "Shipping Database",
    "Shipping Service", "Shipping Topic", "Shop Frontend", "Shopping Cart Database", "Shopping Cart Service",
    "Shopping Cart Topic",
]
SEED_SYSTEMS = ["Email System", "Logistics System", "Online Shop", "Payment System"]
SEED_REQUESTS = [
    ("Shop Frontend", "Order Service", "get products, place orders"),
    ("Payment Service", "Account Service", "Payment Data"),
    ("Order Service", "Payment Service", "Payment for Order"),
    ("Order Service", "Notification Service", "Notify Customer"),
    ("Payment Service", "Payment System", "Trigger Payment"),
    ("Notification Service", "Email System", "Send Email"),
    ("Product Catalog Service", "Inventory Service", "Check Inventory"),
    ("Order Service", "Shipping Service", "Ship Order"),
    ("Notification Service", "Account Service", "Email for Account"),
    ("Shopping Cart Service", "Product Catalog Service", "Product Data"),
    ("Shipping Service", "Account Service", "Account Address"),
    ("Shipping Service", "Logistics System", "Ship Order"),
    ("Order Service", "Inventory Service", "Update Inventory"),
    ("Shopping Cart Service", "Order Service", "Create Order"),
    ("Account Service", "Account Database", "Account Data"),
    ("Order Service", "Order Database", "Order Data"),
    ("Shopping Cart Service", "Shopping Cart Database", "Shopping Cart Data"),
    ("Payment Service", "Payment DB", "Payment Data"),
    ("Inventory Service", "Inventory Database", "Inventory Data"),
    ("Shipping Service", "Shipping Database", "Shipping Data"),
    ("Product Catalog Service", "Product Catalog Database", "Product Catalog"),
    ("Customer", "Shop Frontend", "browse products, place orders"),
]
SEED_PUBLICATIONS = [
    ("Shopping Cart Service", "Shopping Cart Topic", ["ShoppingCartOrderedEvent"]),
    ("Inventory Service", "Inventory Topic", ["InventoryProcessedEvent", "InventoryOutOfStockEvent"]),
    ("Payment Service", "Payment Topic", ["PaymentProcessedEvent", "PaymentFailedEvent"]),
    ("Order Service", "Order Topic", ["OrderProcessedEvent", "OrderCancelledEvent"]),
    ("Shipping Service", "Shipping Topic", ["ShippingProcessedEvent", "ShippingFailedEvent"]),
    ("Account Service", "Account Topic", ["AccountCreatedEvent", "AccountUpdatedEvent", "AccountDeactivatedEvent"]),
]
ACCOUNT_EVENTS = ["AccountCreatedEvent", "AccountUpdatedEvent", "AccountDeactivatedEvent"]
SEED_SUBSCRIPTIONS = [
    ("Order Service", "Payment Topic", ["PaymentProcessedEvent", "PaymentFailedEvent"]),
    ("Order Service", "Shipping Topic", ["ShippingProcessedEvent", "ShippingFailedEvent"]),
    ("Payment Service", "Inventory Topic", ["InventoryOutOfStockEvent"]),
    ("Notification Service", "Payment Topic", ["PaymentProcessedEvent", "PaymentFailedEvent"]),
    ("Shipping Service", "Payment Topic", ["PaymentProcessedEvent", "PaymentFailedEvent"]),
    ("Order Service", "Shopping Cart Topic", ["ShoppingCartOrderedEvent"]),
    ("Notification Service", "Shipping Topic", ["ShippingProcessedEvent", "ShippingFailedEvent"]),
    ("Notification Service", "Inventory Topic", ["InventoryProcessedEvent", "InventoryOutOfStockEvent"]),
    ("Notification Service", "Account Topic", ACCOUNT_EVENTS),
    ("Payment Service", "Account Topic", ACCOUNT_EVENTS),
    ("Inventory Service", "Order Topic", ["OrderProcessedEvent", "OrderCancelledEvent"]),
    ("Payment Service", "Shopping Cart Topic", ["ShoppingCartOrderedEvent"]),
    ("Payment Service", "Shipping Topic", ["ShippingFailedEvent"]),
    ("Payment Service", "Inventory Topic", ["InventoryProcessedEvent"]),
    ("Notification Service", "Order Topic", ["OrderProcessedEvent", "OrderCancelledEvent"]),
]


def model_from_cli() -> dict[str, object]:
    result = CliRunner().invoke(app, ["architecture", "--format", "json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.output)
    return parsed


def test_every_seed_container_is_present_and_only_declared_additions_are_extra() -> None:
    containers = model_from_cli()["containers"]
    assert isinstance(containers, list)
    names = {c["name"] for c in containers}
    assert set(SEED_CONTAINERS) <= names
    extra = [c for c in containers if c["name"] not in SEED_CONTAINERS]
    assert extra and all(c.get("addition") for c in extra), extra


def test_every_seed_system_is_present() -> None:
    systems = system_model()["systems"]
    assert sorted(s["name"] for s in systems) == SEED_SYSTEMS
    assert {s["name"] for s in systems if s["external"]} == {"Email System", "Logistics System", "Payment System"}


def test_requests_match_the_seed_row_by_row_and_additions_are_marked() -> None:
    requests = system_model()["requests"]
    seed_rows = [(r["from"], r["to"], r["description"]) for r in requests if not r["addition"]]
    assert sorted(seed_rows) == sorted(SEED_REQUESTS)
    additions = [(r["from"], r["to"]) for r in requests if r["addition"]]
    assert ("Shop Frontend", "Shopping Cart Service") in additions
    assert all((a[0], a[1]) not in {(s[0], s[1]) for s in SEED_REQUESTS} for a in additions)


def test_publications_match_the_seed_row_by_row() -> None:
    rows = [(p["service"], p["topic"], p["events"]) for p in system_model()["publications"]]
    assert sorted(rows) == sorted(SEED_PUBLICATIONS)


def test_subscriptions_match_the_seed_row_by_row_and_the_one_addition_is_marked() -> None:
    subs = system_model()["subscriptions"]
    rows = [(s["service"], s["topic"], s["events"]) for s in subs if not s["addition"]]
    assert sorted(rows) == sorted(SEED_SUBSCRIPTIONS)
    additions = [(s["service"], s["topic"], s["events"]) for s in subs if s["addition"]]
    assert additions == [("Inventory Service", "Shipping Topic", ["ShippingProcessedEvent"])]
    markdown = as_markdown(system_model())
    assert markdown.index("## Subscriptions beyond the seed") < markdown.index(
        "| Inventory Service | Shipping Topic | ShippingProcessedEvent |"
    )


def test_the_event_types_are_exactly_the_seeds() -> None:
    # The seed names twelve distinct event types across its six topics (fifteen subscription rows).
    seed_events = {e for _, _, events in SEED_PUBLICATIONS for e in events}
    assert set(ALL_EVENTS) == seed_events
    assert len(seed_events) == 12


def test_markdown_and_mermaid_forms_render() -> None:
    runner = CliRunner()
    markdown = runner.invoke(app, ["architecture", "--format", "markdown"]).output
    assert "| Payment Service | Payment Topic | PaymentProcessedEvent, PaymentFailedEvent |" in markdown
    assert "## Additions beyond the seed" in markdown
    mermaid = runner.invoke(app, ["architecture", "--format", "mermaid"]).output
    assert mermaid.startswith("flowchart LR")


def test_asyncapi_has_a_channel_and_schema_per_event(tmp_path: Path) -> None:
    doc = asyncapi_document()
    assert doc["asyncapi"].startswith("3.")
    assert set(doc["channels"]) == set(ALL_EVENTS)
    assert doc["channels"]["PaymentFailedEvent"]["address"] == "payment.PaymentFailedEvent"
    schema = doc["components"]["messages"]["PaymentFailedEvent"]["payload"]["allOf"][1]["properties"]["data"]
    assert "reason" in schema["properties"]
    out = tmp_path / "asyncapi.json"
    result = CliRunner().invoke(app, ["asyncapi", "--output", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text())["info"]["title"] == "eventshop"


def test_the_generated_part_of_the_architecture_document_is_current() -> None:
    from eventshop.cli.inspect import generated_part

    document = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    assert generated_part() in document, "run: eventshop architecture --update docs/architecture.md"
