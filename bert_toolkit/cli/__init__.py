"""The command lines: `command` (absl app, one-line errors), `flags_common`
(the shared flags, made from bert_toolkit.settings) and one module per
script. The repository's root scripts and the console commands run these."""
