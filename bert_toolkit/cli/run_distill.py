r"""Distil a fine-tuned teacher run into a small, fast student (classifier
or NER), as a normal run directory.

  python run_distill.py --teacher_dir=runs/sst2_minilm --data_dir=DATA \
      --output_dir=runs/sst2_student --student_layers=0,2,4 \
      --do_train --do_eval --alpha=0.5 --temperature=2
  python run_distill.py --teacher_dir=runs/pd_crf --data_dir=DATA \
      --init_checkpoint=small_chinese_model --output_dir=runs/pd_student ...

The teacher's task, labels, head, vocab, case and max_seq_length come from
its run_info.json. The student: --init_checkpoint (a pre-trained model with
the teacher's vocab) or --student_layers (teacher layers to keep, initialised
from the teacher's fine-tuned weights, head included). Losses: see
bert_toolkit/tasks/distillation.py. The output directory evaluates, predicts,
exports and serves like any run_classifier.py / run_ner.py run; running the
same command again resumes.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common
from bert_toolkit import settings as settings_lib

flags_common.define_run_flags()
flags_common.define_table(settings_lib.DISTILL_SETTINGS)
flags.adopt_module_key_flags(flags_common)

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.tasks import distillation  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "teacher_dir")
  layers = None
  if FLAGS.student_layers:
    try:
      layers = [int(x) for x in FLAGS.student_layers.split(",")]
    except ValueError:
      raise SettingsError("--student_layers is teacher layer numbers like "
                          "0,2,4, got %r" % FLAGS.student_layers)
  teacher = distillation.Teacher(FLAGS.teacher_dir)
  task = distillation.Distiller(
      teacher, distillation.base_task_for(
          teacher, FLAGS.task, FLAGS.text_a_column, FLAGS.text_b_column,
          FLAGS.label_column),
      alpha=FLAGS.alpha, temperature=FLAGS.temperature,
      student_layers=layers, hidden_loss_weight=FLAGS.hidden_loss_weight,
      attention_loss_weight=FLAGS.attention_loss_weight,
      layer_map=FLAGS.layer_map, unlabeled_file=FLAGS.unlabeled_file)
  results = runner.run(task, flags_common.run_settings(FLAGS))
  for name in ("eval", "predict"):
    scores = results.get(name) or {}
    shown = ", ".join("%s = %.4f" % (k, scores[k]) for k in (
        "accuracy", "macro_f1", "precision", "recall", "f1") if k in scores)
    if shown:
      print("%s %s" % (name, shown))
  print("results: %s" % FLAGS.output_dir)


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()
