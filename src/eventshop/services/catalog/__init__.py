"""Product Catalog Service: products, prices, images, and availability from Inventory."""
