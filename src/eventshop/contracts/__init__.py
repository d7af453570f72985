"""The shared language of the shop: the event envelope, event models and the system registry."""
