"""Catalog rules: categories and filters, availability labels, product ids, search patterns, images."""

from __future__ import annotations

import re
import typing
import xml.etree.ElementTree as ET
from importlib import resources

import pytest

from eventshop.services.catalog import domain
from eventshop.services.catalog.api import CategoryId
from eventshop.services.catalog.demo import DEMO_PRODUCTS
from eventshop.services.catalog.domain import Availability


def test_availability_is_out_low_or_in_stock_by_units_left() -> None:
    assert domain.availability(0) == domain.AvailabilityView(Availability.OUT_OF_STOCK, 0)
    assert domain.availability(1).status == Availability.LOW_STOCK
    assert domain.availability(5) == domain.AvailabilityView(Availability.LOW_STOCK, 5)
    assert domain.availability(6).status == Availability.IN_STOCK


def test_availability_is_unknown_when_inventory_could_not_be_asked() -> None:
    assert domain.availability(None) == domain.AvailabilityView(Availability.UNKNOWN, None)


def test_product_ids_are_short_stable_url_safe_slugs_of_the_sku() -> None:
    assert domain.product_id_for("KETTLE-STEEL") == "kettle-steel"
    assert domain.product_id_for("Mug 350ml/Blue") == "mug-350ml-blue"
    assert domain.product_id_for("KETTLE-STEEL") == domain.product_id_for("KETTLE-STEEL")


def test_skus_that_slug_alike_get_distinct_ids() -> None:
    assert domain.product_id_for("A_1") == domain.product_id_for("A-1")
    assert domain.unique_product_id_for("A_1") != domain.unique_product_id_for("A-1")
    assert re.fullmatch(r"[a-z0-9-]+", domain.unique_product_id_for("A_1"))
    assert len(domain.unique_product_id_for("X" * 64)) <= 64


def test_search_pattern_is_case_folded_and_takes_wildcards_literally() -> None:
    assert domain.like_pattern(" Mug ") == "%mug%"
    assert domain.like_pattern("100%_a\\b") == "%100\\%\\_a\\\\b%"


def test_initials_take_the_first_letters_of_two_words() -> None:
    assert domain.initials("Brushed Steel Kettle") == "BS"
    assert domain.initials("kettle") == "K"
    assert domain.initials("  ") == "?"


def test_product_image_is_deterministic_well_formed_svg_coloured_by_sku() -> None:
    image = domain.product_image("KETTLE-STEEL", "Brushed Steel Kettle")
    assert image == domain.product_image("KETTLE-STEEL", "Brushed Steel Kettle")
    root = ET.fromstring(image)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "BS" in image and "Brushed Steel Kettle" in image
    other = domain.product_image("PRESS-8CUP", "Brushed Steel Kettle")
    assert re.findall(r"hsl\(\d+", image) != re.findall(r"hsl\(\d+", other)


def test_product_image_escapes_the_name() -> None:
    image = domain.product_image("X", 'Tom & Jerry <"mug">')
    ET.fromstring(image)
    assert "<\"mug\">" not in image


def test_demo_catalog_has_one_sold_out_and_one_scarce_product() -> None:
    stock = [p.stock for p in DEMO_PRODUCTS]
    assert 18 <= len(DEMO_PRODUCTS) <= 22
    assert stock.count(0) == 1 and stock.count(3) == 1
    assert len({p.sku for p in DEMO_PRODUCTS}) == len(DEMO_PRODUCTS)
    assert all(isinstance(p.price, int) and p.price > 0 and p.currency == "EUR" for p in DEMO_PRODUCTS)
    assert all(p.description.endswith(".") for p in DEMO_PRODUCTS)


def test_every_demo_product_is_in_a_category_and_every_category_has_some() -> None:
    assert all(p.category in domain.CATEGORY_IDS for p in DEMO_PRODUCTS)
    assert {p.category for p in DEMO_PRODUCTS} == set(domain.CATEGORY_IDS)


def test_the_api_offers_exactly_the_domains_categories() -> None:
    assert typing.get_args(CategoryId) == domain.CATEGORY_IDS


def test_a_filter_refuses_an_unknown_category_and_trims_its_search() -> None:
    with pytest.raises(domain.UnknownCategory, match="the categories are coffee, tea"):
        domain.ProductFilter(category="lamps")
    assert domain.ProductFilter(query="  mug ", category="tea").query == "mug"
    assert domain.ProductFilter(query="   ").query is None


def test_a_product_can_be_bought_with_one_unit_left_but_not_when_its_stock_is_unknown() -> None:
    assert domain.can_be_bought(1) and domain.can_be_bought(domain.LOW_STOCK) and domain.can_be_bought(50)
    assert not domain.can_be_bought(0)
    assert not domain.can_be_bought(None)


def test_the_in_stock_filter_keeps_the_order_and_drops_what_is_sold_out() -> None:
    levels: dict[str, int | None] = {"kettle": 3, "lever": 0, "mug": 120, "press": 0}
    assert domain.in_stock_only(["kettle", "lever", "mug", "press"], levels) == ["kettle", "mug"]
    assert domain.in_stock_only([], {}) == []


def test_the_in_stock_filter_refuses_to_guess_when_a_level_is_unknown() -> None:
    with pytest.raises(domain.AvailabilityUnknown):
        domain.in_stock_only(["kettle", "mug"], {"kettle": 3, "mug": None})
    with pytest.raises(domain.AvailabilityUnknown):
        domain.in_stock_only(["kettle", "mug"], {"kettle": 3})


def test_pages_are_cut_from_one_and_are_empty_past_the_end() -> None:
    items = list("abcdefg")
    assert domain.page_of(items, 1, 3) == ["a", "b", "c"]
    assert domain.page_of(items, 3, 3) == ["g"]
    assert domain.page_of(items, 4, 3) == []


@pytest.mark.parametrize("category", domain.CATEGORY_IDS)
def test_each_category_has_a_drawing_that_makes_a_well_formed_product_image(category: str) -> None:
    drawing = resources.files("eventshop.services.catalog").joinpath("drawings", f"{category}.svg").read_text()
    image = domain.illustrated_image("KETTLE-STEEL", 'Tom & "Jerry"', drawing)
    root = ET.fromstring(image)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("aria-label") == 'Tom & "Jerry"'
    assert "<title>" not in image and "<svg" not in domain.drawing_body(drawing)
    assert len(root) > 5, "the drawing's shapes are inside"
    assert "http" not in image.replace("http://www.w3.org/2000/svg", ""), "nothing to fetch"
    other = domain.illustrated_image("PRESS-8CUP", "x", drawing)
    assert re.findall(r"hsl\(\d+", image) != re.findall(r"hsl\(\d+", other), "the backdrop differs per product"
