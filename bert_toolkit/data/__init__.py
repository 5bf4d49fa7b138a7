"""Data: readers of the classification and NER data sets, tag schemes, text
to model inputs, windows, feature files and pre-training data. No run
skeleton here."""
