"""Notification Service: a record of every event it consumes, and the emails a shop would send."""
