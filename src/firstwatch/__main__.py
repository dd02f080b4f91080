"""`python -m firstwatch` runs the command line."""

from firstwatch.cli.main import app

app()
