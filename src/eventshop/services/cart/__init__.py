"""Shopping Cart Service: one open cart per customer, re-priced at checkout, which creates the order."""
