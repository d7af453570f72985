"""Product Catalog: search and paging, availability from a running Inventory, unknown when it is down."""

from __future__ import annotations

from eventshop.platform.settings import Settings
from eventshop.services.catalog.service import declare as catalog
from eventshop.services.inventory.service import declare as inventory
from tests.conftest import running

AUTH = {"Authorization": "Bearer eventshop-internal-dev-token"}


def product(sku: str, name: str, price: int = 1000) -> dict[str, object]:
    return {"sku": sku, "name": name, "description": f"About the {name}.", "price": price, "currency": "eur"}


async def test_search_pages_and_availability(settings: Settings, clean_broker: None) -> None:
    async with running(inventory(), settings) as inv, running(catalog(), settings) as cat:
        for i in range(5):
            created = await cat.http.post("/products", json=product(f"MUG-{i}", f"Mug {i}"), headers=AUTH)
            assert created.status_code == 201
        await cat.http.post("/products", json=product("KETTLE", "Kettle"), headers=AUTH)
        await inv.http.put("/stock/mug-0", json={"sku": "MUG-0", "available": 50}, headers=AUTH)
        await inv.http.put("/stock/mug-1", json={"sku": "MUG-1", "available": 2}, headers=AUTH)

        first = (await cat.http.get("/products", params={"q": "mug", "page_size": 2})).json()
        assert first["total"] == 5 and [p["name"] for p in first["items"]] == ["Mug 0", "Mug 1"]
        assert [p["availability"]["status"] for p in first["items"]] == ["in_stock", "low_stock"]
        third = (await cat.http.get("/products", params={"q": "MUG", "page_size": 2, "page": 3})).json()
        assert [p["name"] for p in third["items"]] == ["Mug 4"]
        assert third["items"][0]["availability"] == {"status": "out_of_stock", "available": 0}
        detail = (await cat.http.get("/products/kettle")).json()
        assert detail["currency"] == "EUR" and detail["image_url"] == "/products/kettle/image.svg"
        image = await cat.http.get("/products/kettle/image.svg")
        assert image.headers["content-type"].startswith("image/svg+xml") and "<svg" in image.text


async def test_a_product_page_renders_with_availability_unknown_when_inventory_is_down(
    settings: Settings, clean_broker: None
) -> None:
    settings.service_urls["inventory"] = "http://127.0.0.1:9"  # nothing listens there
    async with running(catalog(), settings) as cat:
        await cat.http.post("/products", json=product("LAMP", "Lamp"), headers=AUTH)
        detail = await cat.http.get("/products/lamp")
        assert detail.status_code == 200
        assert detail.json()["availability"] == {"status": "unknown", "available": None}


async def test_operator_edits_need_the_token_and_duplicates_are_refused(settings: Settings, clean_broker: None) -> None:
    async with running(catalog(), settings) as cat:
        assert (await cat.http.post("/products", json=product("A", "A"))).status_code == 401
        assert (await cat.http.post("/products", json=product("A", "A"), headers=AUTH)).status_code == 201
        again = await cat.http.post("/products", json=product("A", "A"), headers=AUTH)
        assert again.status_code == 409 and again.json()["error"]["code"] == "sku_taken"
        negative = await cat.http.post("/products", json=product("B", "B", price=-5), headers=AUTH)
        assert negative.status_code == 422 and "price" in negative.json()["error"]["message"]
        missing = await cat.http.get("/products/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "product_not_found"
