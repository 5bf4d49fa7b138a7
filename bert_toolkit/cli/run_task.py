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
from bert_toolkit.errors import SettingsError


def kind_on_command_line(argv):
  """The --kind value in argv (its flags are defined before absl parses
  it), or None."""
  for i, arg in enumerate(argv):
    if arg.startswith("--kind="):
      return arg[len("--kind="):]
    if arg == "--kind" and i + 1 < len(argv):
      return argv[i + 1]
  return None


KIND = kind_on_command_line(sys.argv)
flags_common.define_kind_flags(KIND)
flags.DEFINE_string("kind", None, "The task kind: %s." % ", ".join(
    row.kind for row in kinds.KINDS if row.script == kinds.GENERIC_SCRIPT))
flags.adopt_module_key_flags(flags_common)

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "kind")
  row = kinds.get(FLAGS.kind)
  if row.script != kinds.GENERIC_SCRIPT:
    raise SettingsError("%s runs have a script of their own: %s" % (
        row.kind, row.script))
  task_class = kinds.task_class(FLAGS.kind)
  values = flags_common.kind_values(FLAGS, FLAGS.kind)
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
