"""Worker processes: where user code runs (never in the server process)."""
