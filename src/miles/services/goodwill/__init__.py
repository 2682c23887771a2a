"""Goodwill miles granted by agents: applied at once within the agent limit, else approved by a supervisor."""
