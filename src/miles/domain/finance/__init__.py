"""Finance (IFRS 15): the miles liability by cohort and source, breakage, and revenue by the cumulative
catch-up method. Pure values and functions; docs/finance.md explains the methods to an auditor."""
