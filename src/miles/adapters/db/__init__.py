"""PostgreSQL: engine, tables, repositories and the unit of work."""
