"""Partners: their members' activities (API, batch, file), pending miles posting, reversals, settlement."""
