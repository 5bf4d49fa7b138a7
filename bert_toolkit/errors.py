"""Errors about user input that scripts print as one clear line, no traceback.

`InputError` carries the file, the 1-based line number and the fix.
`SettingsError` is a flag (setting) that is missing or has a value that
cannot work; its message names the flag. `bert_toolkit.cli.command` lists every error
class a script turns into one `error: ...` line (these two, plus modeling's
ConfigError and CheckpointError and tokenization's VocabError).

No TensorFlow here: serving and the TF-free encoders import this module.
"""

# The exit code of a script stopped by one of these errors (a run the same
# command would stop again, whatever resuming it does).
EXIT_USER_ERROR = 2


class InputError(ValueError):
  """Bad input data: names the file, the line and what to do about it."""

  def __init__(self, path, line_number, problem, fix=None):
    self.path = path
    self.line_number = line_number
    where = "%s line %d" % (path, line_number) if line_number else path
    message = "%s: %s" % (where, problem)
    if fix:
      message += ". " + fix
    super(InputError, self).__init__(message)


class SettingsError(ValueError):
  """A missing flag, or a flag value that cannot work; names the flag."""
