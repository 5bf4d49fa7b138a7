"""Errors about user input that scripts print as one clear line, no traceback.

`InputError` carries the file, the 1-based line number and the fix.
`USER_ERRORS` lists every error class a script catches in `cli.run`.
"""

from modeling.checkpoint import CheckpointError
from modeling.config import ConfigError
from tokenization import VocabError


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


USER_ERRORS = (InputError, ConfigError, CheckpointError, VocabError)
