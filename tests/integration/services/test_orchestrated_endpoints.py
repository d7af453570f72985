"""The callee endpoints of the seed's orchestrated calls (Order -> Inventory, Payment): same rules, Order only."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.settings import Settings
from eventshop.sandboxes.payment_system.app import create_app as payment_system
from eventshop.services.inventory.service import declare as inventory
from eventshop.services.payment.service import declare as payment
from tests.conftest import running, serving
from tests.credentials import as_service
from tests.integration.services.test_payment import LINES, stand_in_account

ORDER = as_service("order", "inventory")

LINE = LINES[0].model_dump()


async def test_update_inventory_reserves_and_releases_for_order_only(settings: Settings, clean_broker: None) -> None:
    async with running(inventory(), settings) as service:
        await service.http.put("/stock/p1", json={"sku": "P1", "available": 1})
        body = {"order_id": "o1", "customer_id": "c", "lines": [LINE], "total": 4990, "currency": "EUR"}
        refused = await service.http.post("/reservations", json=body, headers=as_service("cart", "inventory"))
        assert refused.status_code == 403
        reserved = await service.http.post("/reservations", json=body, headers=ORDER)
        assert reserved.json() == {"order_id": "o1", "status": "reserved", "lines": {}, "shortages": []}
        again = await service.http.post("/reservations", json=body | {"order_id": "o2"}, headers=ORDER)
        assert again.json()["status"] == "rejected"
        assert again.json()["shortages"] == [{"product_id": "p1", "sku": LINE["sku"], "name": LINE["name"],
                                              "requested": LINE["quantity"], "available": 0}]
        released = await service.http.delete("/reservations/o1", headers=ORDER)
        assert released.json()["status"] == "released"
        assert (await service.http.get("/stock")).json()[0]["available"] == 1


async def test_payment_for_order_charges_once_for_order_only(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    accounts = {"c": ("active", "tok_visa")}
    async with serving(payment_system(tmp_path)) as provider, serving(stand_in_account(accounts)) as account:
        settings.service_urls.update({"payment-system": provider, "account": account})
        async with running(payment(), settings) as service:
            body = {"customer_id": "c", "amount": 4990, "currency": "EUR", "lines": [LINE]}
            assert (await service.anonymous.post("/payments/o9/pay", json=body)).status_code == 401
            first = await service.http.post("/payments/o9/pay", json=body, headers=as_service("order", "payment"))
            second = await service.http.post("/payments/o9/pay", json=body, headers=as_service("order", "payment"))
            assert first.json()["status"] == second.json()["status"] == "succeeded"
            assert first.json()["provider_payment_id"] == second.json()["provider_payment_id"]
