"""eventshop: an online shop built as event-driven microservices."""
