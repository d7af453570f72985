"""Account Service: customer accounts, addresses, payment-method tokens and sign-in."""
