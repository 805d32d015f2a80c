"""Queue entry points: thin functions that open an app context and call services."""
