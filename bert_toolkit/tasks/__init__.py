"""One module per task, each plugging into the engine's run skeleton."""
