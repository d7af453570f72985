"""`eventshop bench`: the whole shop end to end (default), the messaging path alone, a raw JetStream chain."""
