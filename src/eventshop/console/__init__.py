"""The operator console: a web view of the running shop, signed in with the console password."""
