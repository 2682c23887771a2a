"""Finance: the month-end close, its reads and exports."""
