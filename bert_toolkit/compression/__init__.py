"""Making a trained model smaller: vocabulary pruning (vocab)."""
