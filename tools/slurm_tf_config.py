"""Prints this Slurm task's TF_CONFIG for --distribution_strategy=
multi_worker_mirrored, from Slurm's environment, through TensorFlow's
SlurmClusterResolver (one task per node, port 8888 by default).

  srun bash -c 'TF_CONFIG=$(python tools/slurm_tf_config.py) \\
      python run_classifier.py ... --distribution_strategy=multi_worker_mirrored'
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def tf_config(port=8888):
  """The TF_CONFIG dict of this task (task type "worker", Slurm's rank)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
      jobs={"worker": int(os.environ.get("SLURM_NTASKS", "1"))},
      port_base=port, gpus_per_node=1, gpus_per_task=1,
      auto_set_gpu=False)
  cluster = resolver.cluster_spec().as_dict()
  return {"cluster": cluster,
          "task": {"type": resolver.task_type, "index": resolver.task_id}}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--port", type=int, default=8888)
  args = parser.parse_args()
  if "SLURM_PROCID" not in os.environ:
    sys.exit("error: not inside a Slurm job step (no SLURM_PROCID): run "
             "it under srun")
  print(json.dumps(tf_config(args.port)))


if __name__ == "__main__":
  main()
