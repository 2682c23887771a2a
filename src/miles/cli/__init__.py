"""The `miles` command: serve, migrate, load the programme, make API keys, run the demo.

One module per command group; this module only assembles them. The commands share `database.py` (the
database and the unit of work) and `consoles.py`, and none imports this module."""

from __future__ import annotations

import typer

from miles.cli.agents import agent_app
from miles.cli.apikeys import apikey_app
from miles.cli.configuration import check_settings
from miles.cli.db import db_app
from miles.cli.demo import demo
from miles.cli.finance import finance_app
from miles.cli.help_text import Command, Group
from miles.cli.jobs import beat, worker
from miles.cli.nightly import nightly
from miles.cli.partners import partners_app
from miles.cli.programme import programme_app
from miles.cli.serve import serve
from miles.cli.status import status
from miles.cli.suppliers import suppliers_app

app = typer.Typer(
    cls=Group, help="miles: the mileage engine of a frequent-flyer programme.", no_args_is_help=True
)
app.callback()(check_settings)
app.command(cls=Command)(serve)
app.command(cls=Command)(worker)
app.command(cls=Command)(beat)
app.command(cls=Command)(nightly)
app.command(cls=Command)(status)
app.command(cls=Command)(demo)
app.add_typer(db_app, name="db")
app.add_typer(programme_app, name="programme")
app.add_typer(apikey_app, name="apikey")
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(agent_app, name="agent")
app.add_typer(partners_app, name="partners")
app.add_typer(finance_app, name="finance")

__all__ = ["app"]
