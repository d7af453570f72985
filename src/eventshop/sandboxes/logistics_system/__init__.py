"""Logistics System sandbox: shipments per shop reference, carrier tracking numbers, refusals, tracking."""
