"""Partners (hotels, car rental, co-brand cards, retail): their contracts, and what an activity earns."""
