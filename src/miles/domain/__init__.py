"""Pure Python rules of the programme: no database, web or queue imports here."""
