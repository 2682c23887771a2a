"""Use cases: each runs inside one unit of work that its caller opens and commits."""
