"""Library behind the run_*.py scripts: inputs, features, training, export."""
