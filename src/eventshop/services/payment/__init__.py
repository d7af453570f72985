"""Payment Service: one payment per order, charged once, voided or refunded by the saga's compensations."""
