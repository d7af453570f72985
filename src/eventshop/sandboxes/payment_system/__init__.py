"""Payment System sandbox: a card payment provider with test tokens, idempotency keys, voids and refunds."""
