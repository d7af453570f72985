"""The `eventshop` command line."""
