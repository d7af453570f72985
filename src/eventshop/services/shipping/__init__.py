"""Shipping Service: one shipment per paid order at the Logistics System, with its tracking number."""
