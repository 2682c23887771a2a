"""`miles partners ...`: import a partner's activity file; close a month and write the partners' statements.
The commands' work is in `partner_import.py` and `partner_settle.py`."""

from __future__ import annotations

import typer

from miles.cli.help_text import Command, Group
from miles.cli.partner_import import partners_import
from miles.cli.partner_settle import partners_settle

partners_app = typer.Typer(
    cls=Group, help="Partners: activity files and monthly settlement.", no_args_is_help=True
)
partners_app.command("import", cls=Command)(partners_import)
partners_app.command("settle", cls=Command)(partners_settle)
