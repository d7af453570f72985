"""Inventory Service: stock levels and all-or-nothing reservations per order."""
