"""firstwatch: watch an AI agent's first days in production."""

__version__ = "0.1.0"
