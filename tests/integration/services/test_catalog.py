"""Product Catalog against a real database and Inventory: search, filters, paging, availability, images, edits."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET

from eventshop.cli.seeding import seed
from eventshop.platform.embedded_nats import free_port
from eventshop.platform.settings import Settings
from eventshop.services.account.service import declare as account
from eventshop.services.catalog.clients import BUDGET_SECONDS
from eventshop.services.catalog.demo import DEMO_PRODUCTS
from eventshop.services.catalog.service import declare as catalog
from eventshop.services.inventory.service import declare as inventory
from tests.conftest import RunningService, running


def product(sku: str, name: str, price: int = 1000, description: str | None = None,
            category: str | None = None) -> dict[str, object]:
    about = f"About the {name}." if description is None else description
    return {"sku": sku, "name": name, "description": about, "price": price, "currency": "eur", "category": category}


async def add(cat: RunningService, body: dict[str, object]) -> dict[str, object]:
    created = await cat.http.post("/products", json=body)
    assert created.status_code == 201, created.text
    found: dict[str, object] = created.json()
    return found


def names(page: dict[str, list[dict[str, str]]]) -> list[str]:
    return [p["name"] for p in page["items"]]


async def test_search_matches_name_description_or_sku_in_any_case_and_pages(
    settings: Settings, clean_broker: None
) -> None:
    async with running(inventory(), settings), running(catalog(), settings) as cat:
        for i in range(5):
            await add(cat, product(f"MUG-{i}", f"Stoneware Mug {i}"))
        await add(cat, product("KETTLE", "Kettle", description="Boils water for a mug of tea."))
        await add(cat, product("PLATE-7", "Plate"))

        first = (await cat.http.get("/products", params={"q": "mUg", "page_size": 2})).json()
        assert (first["total"], first["page"], first["page_size"]) == (6, 1, 2)
        assert names(first) == ["Kettle", "Stoneware Mug 0"]
        last = (await cat.http.get("/products", params={"q": "mug", "page_size": 2, "page": 3})).json()
        assert names(last) == ["Stoneware Mug 3", "Stoneware Mug 4"]
        beyond = (await cat.http.get("/products", params={"q": "mug", "page_size": 2, "page": 4})).json()
        assert beyond["items"] == [] and beyond["total"] == 6
        by_sku = (await cat.http.get("/products", params={"q": "plate-7"})).json()
        assert names(by_sku) == ["Plate"]
        everything = (await cat.http.get("/products")).json()
        assert everything["total"] == 7 and everything["page_size"] == 20
        wildcard = (await cat.http.get("/products", params={"q": "%"})).json()
        assert wildcard["total"] == 0
        too_big = await cat.http.get("/products", params={"page_size": 101})
        assert too_big.status_code == 422


async def test_products_filter_by_category_and_stock_together_with_search_and_paging(
    settings: Settings, clean_broker: None
) -> None:
    async with running(inventory(), settings) as inv, running(catalog(), settings) as cat:
        shelf = [("TEA-A", "Assam Tea", "tea", 80), ("TEA-G", "Green Tea", "tea", 0),
                 ("TEA-J", "Jasmine Tea", "tea", 2), ("TEA-R", "Rooibos Tea", "tea", None),
                 ("POT", "Tea Pot", "tableware", 5), ("KETTLE", "Kettle", None, 9)]
        for sku, name, category, available in shelf:
            created = await add(cat, product(sku, name, category=category))
            if available is not None:
                await inv.http.put(f"/stock/{created['id']}", json={"sku": sku, "available": available})

        teas = (await cat.http.get("/products", params={"category": "tea"})).json()
        assert names(teas) == ["Assam Tea", "Green Tea", "Jasmine Tea", "Rooibos Tea"] and teas["total"] == 4
        assert {(p["category"], p["category_name"]) for p in teas["items"]} == {("tea", "Tea")}
        in_stock = (await cat.http.get("/products", params={"category": "tea", "in_stock": "true"})).json()
        assert names(in_stock) == ["Assam Tea", "Jasmine Tea"] and in_stock["total"] == 2
        assert in_stock["items"][1]["availability"] == {"status": "low_stock", "available": 2}
        second = (await cat.http.get("/products", params={"in_stock": "true", "page_size": 2, "page": 2})).json()
        assert names(second) == ["Kettle", "Tea Pot"] and second["total"] == 4
        searched = (await cat.http.get("/products", params={"q": "tea", "in_stock": "true"})).json()
        assert names(searched) == ["Assam Tea", "Jasmine Tea", "Tea Pot"]
        nothing = (await cat.http.get("/products", params={"q": "green", "in_stock": "true"})).json()
        assert nothing == {"items": [], "page": 1, "page_size": 20, "total": 0}

        categories = (await cat.http.get("/categories")).json()
        assert {c["id"]: c["products"] for c in categories} == {
            "coffee": 0, "tea": 4, "brewing": 0, "tableware": 1, "treats": 0}
        unknown = await cat.http.get("/products", params={"category": "lamps"})
        assert unknown.status_code == 422 and "category" in unknown.json()["error"]["message"]
        wrong = await cat.http.post("/products", json=product("LAMP", "Lamp", category="lamps"))
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "validation_error"


async def test_availability_comes_from_a_running_inventory(settings: Settings, clean_broker: None) -> None:
    async with running(inventory(), settings) as inv, running(catalog(), settings) as cat:
        for sku, available in (("A-PLENTY", 50), ("B-FEW", 3), ("C-NONE", 0), ("D-NEVER-STOCKED", None)):
            created = await add(cat, product(sku, sku.title()))
            if available is not None:
                await inv.http.put(f"/stock/{created['id']}", json={"sku": sku, "available": available})

        page = (await cat.http.get("/products")).json()
        assert [p["availability"] for p in page["items"]] == [
            {"status": "in_stock", "available": 50},
            {"status": "low_stock", "available": 3},
            {"status": "out_of_stock", "available": 0},
            {"status": "out_of_stock", "available": 0},
        ]
        detail = (await cat.http.get("/products/b-few")).json()
        assert detail["availability"] == {"status": "low_stock", "available": 3}
        assert detail["currency"] == "EUR" and detail["price"] == 1000
        assert detail["image_url"] == "/products/b-few/image.svg"


async def test_product_data_without_availability_does_not_ask_inventory(settings: Settings, clean_broker: None) -> None:
    async with running(catalog(), settings) as cat:  # no Inventory running: asking it would say "unknown"
        await add(cat, product("B-FEW", "Few"))
        detail = (await cat.http.get("/products/b-few", params={"availability": "false"})).json()
        assert detail["availability"] is None and detail["price"] == 1000
        asked = (await cat.http.get("/products/b-few")).json()
        assert asked["availability"] == {"status": "unknown", "available": None}


async def test_products_render_with_availability_unknown_when_inventory_is_not_running(
    settings: Settings, clean_broker: None
) -> None:
    settings.service_urls["inventory"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with running(catalog(), settings) as cat:
        await add(cat, product("LAMP", "Desk Lamp"))

        detail = await cat.http.get("/products/lamp")
        assert detail.status_code == 200
        assert detail.json()["availability"] == {"status": "unknown", "available": None}
        started = time.monotonic()
        page = (await cat.http.get("/products")).json()
        assert page["items"][0]["availability"] == {"status": "unknown", "available": None}
        assert time.monotonic() - started < BUDGET_SECONDS  # pages stop waiting on an Inventory that failed
        filtered = await cat.http.get("/products", params={"in_stock": "true"})
        assert filtered.status_code == 503 and filtered.json()["error"]["code"] == "availability_unknown"


async def test_each_product_has_a_generated_svg_image(settings: Settings, clean_broker: None) -> None:
    settings.service_urls["inventory"] = f"http://127.0.0.1:{free_port()}"
    async with running(catalog(), settings) as cat:
        created = await add(cat, product("KETTLE-STEEL", "Brushed Steel Kettle"))

        image = await cat.http.get(str(created["image_url"]))
        assert image.status_code == 200
        assert image.headers["content-type"].startswith("image/svg+xml")
        assert ET.fromstring(image.text).tag == "{http://www.w3.org/2000/svg}svg"
        assert ">BS<" in image.text
        assert image.text == (await cat.http.get(str(created["image_url"]))).text
        drawn = await add(cat, product("DRIPPER", "Ceramic Dripper", category="brewing"))
        assert drawn["image_alt"] == "Drawing of a pour-over dripper on a glass carafe"
        drawing = (await cat.http.get(str(drawn["image_url"]))).text
        assert ET.fromstring(drawing).get("aria-label") == "Ceramic Dripper" and ">CD<" not in drawing
        assert drawing.count("<path") > 5
        missing = await cat.http.get("/products/nope/image.svg")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "product_not_found"


async def test_operator_edits_need_the_token_and_duplicate_skus_are_refused(
    settings: Settings, clean_broker: None
) -> None:
    settings.service_urls["inventory"] = f"http://127.0.0.1:{free_port()}"
    async with running(catalog(), settings) as cat:
        assert (await cat.anonymous.post("/products", json=product("A", "A"))).status_code == 401
        await add(cat, product("A", "A"))
        await add(cat, product("B", "B"))
        again = await cat.http.post("/products", json=product("A", "Another A"))
        assert again.status_code == 409 and again.json()["error"]["code"] == "sku_taken"
        negative = await cat.http.post("/products", json=product("C", "C", price=-5))
        assert negative.status_code == 422 and "price" in negative.json()["error"]["message"]
        missing = await cat.http.get("/products/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "product_not_found"

        assert (await cat.anonymous.put("/products/a", json=product("A", "A", price=1500))).status_code == 401
        changed = await cat.http.put("/products/a", json=product("A2", "A", price=1500))
        assert changed.status_code == 200
        assert (changed.json()["id"], changed.json()["sku"], changed.json()["price"]) == ("a", "A2", 1500)
        taken = await cat.http.put("/products/a", json=product("B", "A"))
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "sku_taken"


async def test_skus_that_slug_alike_get_ids_of_their_own(settings: Settings, clean_broker: None) -> None:
    settings.service_urls["inventory"] = f"http://127.0.0.1:{free_port()}"
    async with running(catalog(), settings) as cat:
        first = await add(cat, product("CUP-1", "Cup"))
        second = await add(cat, product("CUP_1", "Cup"))
        assert first["id"] == "cup-1" and second["id"] != "cup-1"
        assert (await cat.http.get(f"/products/{second['id']}")).json()["sku"] == "CUP_1"


async def test_numbers_too_large_to_store_are_refused_with_422(settings: Settings, clean_broker: None) -> None:
    async with running(inventory(), settings) as inv, running(catalog(), settings) as cat:
        price = await cat.http.post("/products", json=product("YACHT", "Yacht", price=10**21))
        page = await cat.http.get("/products", params={"page": 10**30})
        stock = await inv.http.put("/stock/p1", json={"sku": "P1", "available": 2**65})
        for answer in (price, page, stock):
            assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"


async def test_seeding_puts_a_demo_product_seeded_before_categories_in_its_category(
    settings: Settings, clean_broker: None
) -> None:
    async with running(account(), settings), running(inventory(), settings), running(catalog(), settings) as cat:
        await add(cat, product("KETTLE-STEEL", "The Old Kettle"))  # as a shop seeded by an earlier version has it

        created = await asyncio.to_thread(seed, settings)

        assert created == len(DEMO_PRODUCTS) - 1
        kettle = (await cat.http.get("/products/kettle-steel")).json()
        assert (kettle["category"], kettle["name"]) == ("brewing", "The Old Kettle")
        counts = {c["id"]: c["products"] for c in (await cat.http.get("/categories")).json()}
        assert counts == {c: sum(p.category == c for p in DEMO_PRODUCTS) for c in counts}
