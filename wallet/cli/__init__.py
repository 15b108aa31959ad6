"""The ``tally`` command line: one typer application with a sub-command per job."""
