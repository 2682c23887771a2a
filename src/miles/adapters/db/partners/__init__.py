"""Partner activities, their postings and reversals, file imports and monthly settlements."""
