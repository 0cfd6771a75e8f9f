"""Pure rules of the trade: no I/O, no framework imports."""
