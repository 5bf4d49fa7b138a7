"""Which Pythons the toolkit runs on, and the one-line refusal on any other.

The code needs TensorFlow with `tf.estimator`: TF 1.15 (wheels for Python
3.5-3.7) or TF 2.15 (Python 3.9-3.11; TF 2.16 dropped tf.estimator). So
Python 3.7 and 3.9-3.11, the same set as pyproject.toml's requires-python
and its TensorFlow markers (tests/test_packaging.py checks that they agree).
The test tools (requirements-dev.txt, used by quickstart.sh) need 3.9-3.11.

`bert_toolkit.cli` calls `exit_if_unsupported()` before any command module
imports absl or TensorFlow, so every script and console command says which
Python it needs instead of dying on `import absl`. quickstart.sh and
studio.sh run this file as a script before they build .venv:

  python3 bert_toolkit/cli/python_check.py [--dev] [FIX]

exits 2 with one `error:` line (FIX: what to run instead) on an unsupported
Python. Kept importable and runnable by any Python 3 (no f-strings, no
imports beyond sys).
"""

import sys

SUPPORTED = ((3, 7), (3, 9), (3, 10), (3, 11))
DEV_SUPPORTED = ((3, 9), (3, 10), (3, 11))
EXIT_USER_ERROR = 2   # bert_toolkit.errors.EXIT_USER_ERROR (no imports here)


def describe(supported):
  """((3, 7), (3, 9), (3, 10), (3, 11)) -> "3.7 or 3.9-3.11"."""
  runs = []
  for major, minor in supported:
    if runs and runs[-1][0] == major and runs[-1][2] == minor - 1:
      runs[-1][2] = minor
    else:
      runs.append([major, minor, minor])
  names = ["%d.%d" % (a, lo) if lo == hi else "%d.%d-%d.%d" % (a, lo, a, hi)
           for a, lo, hi in runs]
  if len(names) == 1:
    return names[0]
  return ", ".join(names[:-1]) + " or " + names[-1]


def problem(version_info=None, supported=SUPPORTED, fix=None):
  """The `error: ...` line for an unsupported Python, or None when it fits."""
  version = tuple(version_info or sys.version_info)[:3]
  if tuple(version[:2]) in supported:
    return None
  newest = "python%d.%d" % supported[-1]
  fix = fix or ("make the environment with one of them, e.g. `%s -m venv "
                ".venv && .venv/bin/pip install .`" % newest)
  return ("error: this toolkit needs Python %s (the Pythons TensorFlow with "
          "tf.estimator is built for), not Python %s (%s); %s" % (
              describe(supported), ".".join(str(v) for v in version),
              sys.executable or "python", fix))


def exit_if_unsupported(version_info=None, supported=SUPPORTED, fix=None):
  """Prints the error line and exits with status 2 on an unsupported Python."""
  line = problem(version_info, supported, fix)
  if line:
    sys.stderr.write(line + "\n")
    sys.exit(EXIT_USER_ERROR)


def main(argv):
  """Script entry: [--dev] [FIX...]."""
  args = list(argv[1:])
  supported = SUPPORTED
  if args and args[0] == "--dev":
    supported = DEV_SUPPORTED
    args = args[1:]
  exit_if_unsupported(supported=supported, fix=" ".join(args) or None)


if __name__ == "__main__":
  main(sys.argv)
