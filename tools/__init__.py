"""Small command-line helpers (fetching the demo model, ...)."""
