"""Promotions in PostgreSQL: the campaigns, their members' use, and the bonuses awarded."""
