"""Adapters: the database, suppliers and the notifier."""
