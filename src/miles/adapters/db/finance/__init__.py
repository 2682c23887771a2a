"""Finance: snapshots of the lots and the ledger, closed months."""
