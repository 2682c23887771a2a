"""Finance's pages (403 for every other role): the partners' monthly settlements, with a chart."""
