"""`python -m miles.cli ...` runs the `miles` command."""

from miles.cli import app

app()
