r"""Train, evaluate and predict a task kind of the registry (bert_toolkit.kinds)
that has no script of its own, such as regression:

  python run_task.py --kind=regression --task=stsb --data_dir=STS-B \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/stsb \
      --do_train --do_eval --do_predict

The flags are every run script's (run_classifier.py's shared ones) plus the
kind's own settings; `--kind=K --help` lists them. Running the same command
again after an interruption resumes.
"""

import sys

from absl import flags

from bert_toolkit import kinds
from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common


def kind_on_command_line(argv):
  """The --kind value in argv (its flags are defined before absl parses
  it), or None."""
  for i, arg in enumerate(argv):
    if arg.startswith("--kind="):
      return arg[len("--kind="):]
    if arg == "--kind" and i + 1 < len(argv):
      return argv[i + 1]
  return None


def _own_settings(kind):
  """The settings rows of a known kind (none for an unknown one: main()
  then names the known kinds)."""
  try:
    return kinds.get(kind).settings if kind else ()
  except kinds.UnknownKindError:
    return ()


KIND_SETTINGS = _own_settings(kind_on_command_line(sys.argv))
flags_common.define_run_flags()
flags.DEFINE_string("kind", None, "The task kind: %s." % ", ".join(
    row.kind for row in kinds.KINDS if row.script == kinds.GENERIC_SCRIPT))
flags_common.define_table(KIND_SETTINGS)
flags.adopt_module_key_flags(flags_common)

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "kind")
  task_class = kinds.task_class(FLAGS.kind)
  values = {row.name: (flags_common.given(FLAGS, row.name)
                       if row.default is None else getattr(FLAGS, row.name))
            for row in KIND_SETTINGS}
  results = runner.run(task_class.from_settings(values),
                       flags_common.run_settings(FLAGS))
  if "eval" in results:
    print("eval %s" % ", ".join(
        "%s = %.4f" % (k, v) for k, v in sorted(results["eval"].items())
        if isinstance(v, float)))
  print("results: %s" % FLAGS.output_dir)


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()
