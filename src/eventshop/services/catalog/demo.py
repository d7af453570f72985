"""The demo catalog `eventshop up` seeds through the APIs: products with prices (cents), stock and a category."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    description: str
    price: int
    stock: int
    category: str
    currency: str = "EUR"


DEMO_PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct("KETTLE-STEEL", "Brushed Steel Kettle", "A 1.7 litre electric kettle with a brushed steel body, "
                "a limescale filter and a boil-dry cut-out.", 4990, 25, "brewing"),
    DemoProduct("PRESS-8CUP", "French Press, 8 Cup", "Borosilicate glass and a four-layer stainless filter for a "
                "clean, full-bodied brew.", 2950, 40, "brewing"),
    DemoProduct("GRINDER-BURR", "Conical Burr Grinder", "Forty grind settings from espresso to cold brew, with a "
                "quiet low-speed motor.", 8900, 12, "brewing"),
    DemoProduct("MUG-STONE", "Stoneware Mug", "Hand-glazed stoneware mug that holds 350 ml and keeps coffee warm "
                "a little longer.", 1450, 120, "tableware"),
    DemoProduct("TEA-SENCHA", "Organic Sencha, 100 g", "Steamed Japanese green tea with a fresh, grassy sweetness. "
                "Brew at 70 degrees for one minute.", 1190, 60, "tea"),
    DemoProduct("TEA-ASSAM", "Assam Breakfast Tea, 250 g", "Malty, brisk black tea from Upper Assam that takes milk "
                "well.", 990, 80, "tea"),
    DemoProduct("BEANS-ETHIOPIA", "Ethiopia Yirgacheffe Beans, 500 g", "Washed Arabica with notes of bergamot, "
                "jasmine and lemon, roasted light.", 1890, 45, "coffee"),
    DemoProduct("BEANS-BRAZIL", "Brazil Cerrado Beans, 1 kg", "Medium roast with chocolate and hazelnut notes; a "
                "forgiving espresso base.", 2790, 30, "coffee"),
    DemoProduct("SCALE-BREW", "Brewing Scale with Timer", "Weighs to 0.1 g up to 2 kg and times your pour-over.",
                3490, 18, "brewing"),
    DemoProduct("DRIPPER-V60", "Ceramic Pour-Over Dripper", "Spiral ribs and one large hole give you control over "
                "the flow.", 2390, 22, "brewing"),
    DemoProduct("FILTERS-100", "Paper Filters, 100 Pack", "Oxygen-bleached paper filters for cone drippers, size 02.",
                590, 200, "brewing"),
    DemoProduct("TIN-COFFEE", "Airtight Coffee Tin", "Keeps 500 g of beans fresh with a one-way CO2 valve and a "
                "date dial.", 1990, 35, "tableware"),
    DemoProduct("MILK-FROTHER", "Handheld Milk Frother", "Whisks a latte's worth of milk to foam in twenty seconds; "
                "runs on two AA batteries.", 1290, 50, "brewing"),
    DemoProduct("TEAPOT-CAST", "Cast Iron Teapot", "Enamelled cast iron teapot, 0.9 litre, with a removable steel "
                "infuser.", 5490, 3, "tea"),
    DemoProduct("CUPS-ESPRESSO", "Espresso Cups, Set of 4", "Thick-walled porcelain cups of 80 ml with saucers.",
                2490, 28, "tableware"),
    DemoProduct("TRAY-OAK", "Oak Serving Tray", "Solid oak tray with carved handles, oiled to a warm finish.",
                3990, 10, "tableware"),
    DemoProduct("HONEY-ACACIA", "Acacia Honey, 500 g", "Mild, runny honey that does not crystallise; lovely in tea.",
                890, 70, "treats"),
    DemoProduct("CHOC-DARK", "Dark Chocolate 72%, 100 g", "Single-origin cocoa from Peru with red fruit notes.",
                450, 150, "treats"),
    DemoProduct("BISCUITS-BUTTER", "Butter Biscuits, 300 g", "Crisp Danish-style biscuits baked with real butter.",
                690, 90, "treats"),
    DemoProduct("MACHINE-LEVER", "Lever Espresso Machine", "A hand-built lever machine with a brass boiler, "
                "for baristas who like to pull their shots by feel.", 129900, 0, "brewing"),
)
