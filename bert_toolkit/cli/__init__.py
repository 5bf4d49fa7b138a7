"""The command lines: `command` (absl app, one-line errors), `flags_common`
(the shared flags, made from bert_toolkit.settings) and one module per
script. The repository's root scripts and the console commands run these.

On a Python no TensorFlow with tf.estimator is built for, importing any of
them ends the process with one `error:` line naming the Pythons it needs
(`python_check`), before absl or TensorFlow is imported."""

from bert_toolkit.cli import python_check as _python_check

_python_check.exit_if_unsupported()
