"""Catalog rules: availability labels, product ids, search patterns, generated images."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from eventshop.services.catalog import domain
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
