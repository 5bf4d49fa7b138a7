"""Training on several devices with tf.distribute, TensorFlow's own engine.
No flags and no module state: the runner passes the settings in.

  plan(strategy, num_gpus, train_batch_size, gpus, environ) -> Plan
      the strategy object for RunConfig(train_distribute=...), the number
      of replicas in sync, the per-replica batch, the TF_CONFIG cluster
  read_cluster(environ) -> Cluster: this process's place in TF_CONFIG
  replica_mean(grads, variables) -> (grads, replicas)
      inside a replica: the gradients averaged over all replicas
      (all-reduce), so clipping and accumulation see the global batch's
  split_batches(dataset, replicas, input_context) -> dataset
      global batches -> the per-replica batches this worker feeds

Strategies (`--distribution_strategy`):
  none      the default: one device, no strategy.
  mirrored  synchronous data parallelism on one machine: all its GPUs, or
            the first --num_gpus. On a machine without GPUs it runs
            --num_gpus replicas on logical CPU devices (default 1): that
            trains the same model, slower, and is how the tests check the
            arithmetic on CPU.
  parameter_server  the Estimator's classic asynchronous training for large
            CPU clusters: variables on the "ps" tasks, the chief and the
            workers apply their own updates (see _parameter_server_plan).
  multi_worker_mirrored  synchronous data parallelism over processes or
            machines, one replica each, the cluster from TF_CONFIG (the
            "chief", or worker 0 without one, writes checkpoints and
            results). The Estimator trains it only through
            tf.estimator.train_and_evaluate (training._train_to). Each
            worker's input pipeline takes its own slices (shard by
            InputContext). tools/local_cluster.py starts one locally.

Batch rule (TPUEstimator's): --train_batch_size is the GLOBAL batch. Each
training batch is built exactly as on one device (same shuffle, same
length grouping), then cut into `replicas` consecutive slices, one per
replica; it must divide evenly. Each replica's loss is the mean over its
slice, the gradients are averaged over replicas (replica_mean) before
global-norm clipping, so one step equals one step on one device with the
whole batch (tested to 1e-5 with dropout off). Gradient accumulation
accumulates the averaged gradients. Evaluation and prediction run
undistributed on one device (the chief's, for multi-worker).
"""

import collections
import json
import os

import tensorflow.compat.v1 as tf

from bert_toolkit.errors import SettingsError
from modeling import heads

STRATEGIES = ("none", "mirrored", "multi_worker_mirrored", "parameter_server")

Plan = collections.namedtuple(
    "Plan", ["strategy", "train_distribute", "replicas", "per_replica_batch",
             "devices", "cpu_devices", "cluster"])
Plan.__doc__ = """How a run trains across devices.

  strategy: the --distribution_strategy name.
  train_distribute: the tf.distribute strategy for RunConfig, or None.
  replicas: replicas in sync (1 without a strategy).
  per_replica_batch: train_batch_size / replicas.
  devices: the replica devices (names), () without a strategy.
  cpu_devices: logical CPU devices the session must create (0: default).
  cluster: the Cluster of a multi-worker run (from TF_CONFIG), else None.
"""

Cluster = collections.namedtuple(
    "Cluster", ["task_type", "task_index", "num_workers", "is_chief",
                "spec"])
Cluster.__doc__ = """This process's place in a TF_CONFIG cluster.

  task_type, task_index: TF_CONFIG's "task".
  num_workers: training processes (the chief and the workers).
  is_chief: the task that writes checkpoints, summaries and results: the
    "chief", or "worker" 0 when the cluster names no chief.
  spec: TF_CONFIG's "cluster" dict.
"""


def read_cluster(environ):
  """The Cluster that TF_CONFIG describes, or None when it is not set.

  Raises:
    SettingsError: TF_CONFIG is not JSON, or its cluster / task do not fit.
  """
  text = environ.get("TF_CONFIG")
  if not text:
    return None
  try:
    config = json.loads(text)
  except ValueError as e:
    raise _tf_config_error("TF_CONFIG is not JSON (%s)" % e)
  cluster, task_type, task_index = _check_tf_config(config)
  num_workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
  is_chief = (task_type == "chief" or
              (task_type == "worker" and task_index == 0 and
               not cluster.get("chief")))
  return Cluster(task_type, task_index, num_workers, is_chief, cluster)


TF_CONFIG_JOBS = ("chief", "worker", "ps", "evaluator")
_TF_CONFIG_SHAPE = ('{"cluster": {"chief": ["host:port"], "worker": '
                    '["host:port", ...]}, "task": {"type": "worker", '
                    '"index": 0}}')


def _tf_config_error(problem):
  return SettingsError(
      "%s: TF_CONFIG must be %s on every task (tools/local_cluster.py sets "
      "it), or unset for a run on one machine" % (problem, _TF_CONFIG_SHAPE))


def _check_tf_config(config):
  """(cluster dict, task type, task index) of a parsed TF_CONFIG, its
  structure checked: a SettingsError names what does not fit."""
  if not isinstance(config, dict):
    raise _tf_config_error("TF_CONFIG is a JSON %s, not an object" %
                           type(config).__name__)
  cluster, task = config.get("cluster"), config.get("task")
  if not isinstance(cluster, dict) or not cluster:
    raise _tf_config_error("TF_CONFIG's \"cluster\" is %s, not an object "
                           "of jobs" % json.dumps(cluster))
  for job, members in sorted(cluster.items()):
    if job not in TF_CONFIG_JOBS:
      raise _tf_config_error("TF_CONFIG's cluster has a job %r (jobs are "
                             "%s)" % (job, ", ".join(TF_CONFIG_JOBS)))
    if (not isinstance(members, list) or not members or
        not all(isinstance(m, str) and m.rpartition(":")[2].isdigit()
                for m in members)):
      raise _tf_config_error("TF_CONFIG's cluster job %r is %s, not a list "
                             "of \"host:port\" addresses" % (
                                 job, json.dumps(members)))
  if not isinstance(task, dict):
    raise _tf_config_error("TF_CONFIG's \"task\" is %s, not an object" %
                           json.dumps(task))
  task_type, task_index = task.get("type"), task.get("index", 0)
  if (isinstance(task_index, bool) or not isinstance(task_index, int)):
    raise _tf_config_error("TF_CONFIG's task index is %s, not a number" %
                           json.dumps(task_index))
  if task_type not in cluster or not 0 <= task_index < len(
      cluster[task_type]):
    raise _tf_config_error("TF_CONFIG's task %s %s is not in its cluster "
                           "(%s)" % (json.dumps(task_type), task_index,
                                     ", ".join("%s: %d" % (k, len(v)) for k, v
                                               in sorted(cluster.items()))))
  return cluster, task_type, task_index


def local_gpus():
  """Names of this machine's GPUs, as TF sees them."""
  return [d.name for d in tf.config.experimental.list_physical_devices("GPU")]


def single_device(train_batch_size):
  """The Plan of a run without a strategy."""
  return Plan("none", None, 1, train_batch_size, (), 0, None)


def plan(strategy, num_gpus, train_batch_size, gpus=None, environ=None,
         build=True):
  """The Plan of a run's settings.

  Args:
    strategy: one of STRATEGIES.
    num_gpus: mirrored: replicas (None or 0: every GPU; without GPUs, 1).
    train_batch_size: the global batch.
    gpus: the machine's GPU names (default: local_gpus()).
    environ: where TF_CONFIG is read (default: os.environ).
    build: False checks the settings without making a strategy object.

  Raises:
    SettingsError: an unknown strategy, more GPUs than the machine has, or
      a batch that the replicas cannot share evenly.
  """
  if strategy not in STRATEGIES:
    raise SettingsError("--distribution_strategy=%s: use one of %s" %
                        (strategy, ", ".join(STRATEGIES)))
  if num_gpus is not None and num_gpus < 0:
    raise SettingsError("--num_gpus must be 0 (all) or more, got %d" %
                        num_gpus)
  environ = os.environ if environ is None else environ
  if strategy not in ("multi_worker_mirrored", "parameter_server") and \
      environ.get("TF_CONFIG"):
    raise SettingsError(
        "TF_CONFIG is set, which makes the Estimator join that cluster, but "
        "--distribution_strategy=%s: pass --distribution_strategy="
        "multi_worker_mirrored, or unset TF_CONFIG" % strategy)
  if strategy == "none":
    if num_gpus:
      raise SettingsError("--num_gpus=%d needs --distribution_strategy="
                          "mirrored" % num_gpus)
    return single_device(train_batch_size)
  if strategy == "multi_worker_mirrored":
    return _multi_worker_plan(num_gpus, train_batch_size, environ, build)
  if strategy == "parameter_server":
    return _parameter_server_plan(num_gpus, train_batch_size, environ)
  gpus = local_gpus() if gpus is None else list(gpus)
  cpu_devices = 0
  if gpus:
    if num_gpus and num_gpus > len(gpus):
      raise SettingsError("--num_gpus=%d: this machine has %d GPU(s)" %
                          (num_gpus, len(gpus)))
    devices = ["/gpu:%d" % i for i in range(num_gpus or len(gpus))]
  else:
    cpu_devices = num_gpus or 1
    devices = ["/cpu:%d" % i for i in range(cpu_devices)]
  replicas = len(devices)
  _check_split(train_batch_size, replicas)
  return Plan(strategy, tf.distribute.MirroredStrategy(devices)
              if build else None, replicas, train_batch_size // replicas,
              tuple(devices), cpu_devices, None)


def _multi_worker_plan(num_gpus, train_batch_size, environ, build):
  """multi_worker_mirrored: one replica per worker (its CPU, or its one
  GPU), synchronous all-reduce between workers (TF's collective ops)."""
  if num_gpus and num_gpus > 1:
    raise SettingsError("--distribution_strategy=multi_worker_mirrored "
                        "runs one replica per worker process: start one "
                        "worker per GPU instead of --num_gpus=%d" % num_gpus)
  cluster = read_cluster(environ)
  if cluster is None:
    raise SettingsError(
        "--distribution_strategy=multi_worker_mirrored reads the cluster "
        "from TF_CONFIG, which is not set: set it on every worker (see the "
        "README), or start the workers with tools/local_cluster.py")
  if cluster.task_type not in ("chief", "worker"):
    raise SettingsError("TF_CONFIG task type %r: multi_worker_mirrored "
                        "runs chief and worker tasks" % cluster.task_type)
  _check_split(train_batch_size, cluster.num_workers)
  strategy = None
  if build:
    strategy = tf.distribute.experimental.MultiWorkerMirroredStrategy()
  return Plan("multi_worker_mirrored", strategy, cluster.num_workers,
              train_batch_size // cluster.num_workers,
              ("%s:%d" % (cluster.task_type, cluster.task_index),), 0,
              cluster)


def _parameter_server_plan(num_gpus, train_batch_size, environ):
  """parameter_server: the Estimator's classic asynchronous training. The
  variables live on the "ps" tasks; the chief and every worker each train
  with batches of train_batch_size and apply their updates on their own
  (so global_step counts every worker's updates, and --num_train_steps is
  the run's total number of updates, as on one device)."""
  if num_gpus:
    raise SettingsError("--num_gpus does not apply to parameter_server: "
                        "each worker uses its own device")
  cluster = read_cluster(environ)
  if cluster is None or not cluster.spec.get("ps"):
    raise SettingsError(
        "--distribution_strategy=parameter_server reads a cluster with "
        "\"ps\" tasks from TF_CONFIG: set it on every task, or start them "
        "with tools/local_cluster.py --num_ps=1")
  if not cluster.spec.get("chief"):
    raise SettingsError("TF_CONFIG: a parameter_server cluster needs a "
                        "\"chief\" task (the Estimator's rule); "
                        "tools/local_cluster.py --num_ps names one")
  return Plan("parameter_server", None, 1, train_batch_size,
              ("%s:%d" % (cluster.task_type, cluster.task_index),), 0,
              cluster)


def start_server(cluster):
  """This task's tf.distribute.Server (gRPC), for the Estimator's classic
  between-graph training: the ps tasks serve variables, the chief and
  workers run their sessions on it."""
  server = tf.distribute.Server(
      tf.train.ClusterSpec(cluster.spec), job_name=cluster.task_type,
      task_index=cluster.task_index, start=True)
  return server


def _check_split(train_batch_size, replicas):
  if train_batch_size % replicas:
    raise SettingsError(
        "--train_batch_size=%d is the global batch and must split evenly "
        "over %d replicas: use a multiple of %d" %
        (train_batch_size, replicas, replicas))


def is_chief(p):
  """Whether this process writes the run's files (always, off a cluster)."""
  return p.cluster is None or p.cluster.is_chief


def describe(p):
  """One log line about a Plan."""
  if p.strategy == "parameter_server":
    return ("parameter_server: %d ps, %d workers training asynchronously, "
            "this one %s%s, %d examples a step" % (
                len(p.cluster.spec["ps"]), p.cluster.num_workers,
                p.devices[0], " (the chief)" if p.cluster.is_chief else "",
                p.per_replica_batch))
  if p.strategy == "none":
    return "one device, no distribution strategy"
  if p.cluster is not None:
    return ("%s: %d workers, this one %s%s, %d examples each per step" %
            (p.strategy, p.cluster.num_workers, p.devices[0],
             " (the chief)" if p.cluster.is_chief else "",
             p.per_replica_batch))
  where = ("logical CPU devices (no GPU here)" if p.cpu_devices
           else "GPUs")
  return ("%s: %d replicas on %s (%s), %d examples each per step" %
          (p.strategy, p.replicas, where, ", ".join(p.devices),
           p.per_replica_batch))


def replica_mean(grads, variables):
  """Averages gradients over the replicas in sync (all-reduce).

  Args:
    grads: list of gradient Tensors (or None) of this replica's loss.
    variables: their variables (the all-reduce's destinations, as
      tf.train.Optimizer reduces to them).

  Returns:
    (grads, replicas): outside a strategy, or with one replica, the same
    grads and 1; else every replica gets the mean over replicas, which is
    the gradient of the global batch's mean loss.
  """
  context = heads.synced_replica_context()
  if context is None:
    return grads, 1
  replicas = context.num_replicas_in_sync
  present = [i for i, g in enumerate(grads) if g is not None]
  pairs = [(tf.convert_to_tensor(grads[i]), variables[i]) for i in present]

  def mean(strategy, pairs):  # cross-replica context
    return strategy.extended.batch_reduce_to(tf.distribute.ReduceOp.MEAN,
                                             pairs)

  reduced = context.merge_call(mean, args=(pairs,))
  out = list(grads)
  for i, g in zip(present, reduced):
    out[i] = g
  return out, replicas


def split_batches(dataset, replicas, input_context=None):
  """Global batches -> the per-replica batches this input pipeline feeds.

  Each global batch (every tensor [batch, ...]) is cut into `replicas`
  consecutive slices; the strategy hands one slice to each replica per
  step, so a step sees exactly the global batch.

  Args:
    dataset: of feature dicts, every value batched (dim 0 = batch).
    replicas: replicas in sync (1: unchanged).
    input_context: tf.distribute.InputContext of this pipeline, or None.
  """
  if replicas <= 1:
    return dataset

  def slices(features):
    size = tf.shape(next(iter(features.values())))[0] // replicas

    def one(i):
      i = tf.cast(i, tf.int32)
      return {k: v[i * size:(i + 1) * size] for k, v in features.items()}

    return tf.data.Dataset.range(replicas).map(one)

  dataset = dataset.flat_map(slices)
  if input_context is not None and input_context.num_input_pipelines > 1:
    dataset = dataset.shard(input_context.num_input_pipelines,
                            input_context.input_pipeline_id)
  return dataset


def input_shard(p):
  """(count, index) of the training batches this task takes, or None.

  parameter_server: every task builds the same stream of batches and takes
  every count-th one, so the chief and the workers train on different
  batches (the chief 0, worker i i + 1). The synchronous strategies slice
  each batch instead (split_batches)."""
  if p.strategy != "parameter_server":
    return None
  cluster = p.cluster
  index = 0 if cluster.task_type == "chief" else cluster.task_index + 1
  return (cluster.num_workers, index)


def replicas_in_sync():
  """Replicas of the current strategy (1 without one): for counting the
  examples of a step inside a replica."""
  if not tf.distribute.has_strategy():
    return 1
  return tf.distribute.get_strategy().num_replicas_in_sync
