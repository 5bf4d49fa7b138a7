"""--distribution_strategy: the same training on several replicas as on one
device with the same global batch (bert_toolkit/engine/distribution.py)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_toolkit.engine import distribution
from bert_toolkit.errors import SettingsError
from tests import clirun
from tests import datasets
from tests.paths import REFERENCE_DIR
from tests.paths import REPO_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _model_without_dropout(root):
  folder = os.path.join(str(root), "bert")
  shutil.copytree(BERT_DIR, folder)
  path = os.path.join(folder, "bert_config.json")
  with open(path) as f:
    config = json.load(f)
  config["hidden_dropout_prob"] = config["attention_probs_dropout_prob"] = 0
  with open(path, "w") as f:
    json.dump(config, f)
  return folder


def _weights(run_dir):
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(run_dir))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
  root = tmp_path_factory.mktemp("distribution")
  data = datasets.chnsenticorp(root / "data", train=96, dev=16)
  return data, _model_without_dropout(root), root


def _train(setup, name, *extra):
  """One run_classifier.py training (reused when it exists already)."""
  data, model, root = setup
  out = str(root / name)
  if os.path.isfile(os.path.join(out, "run_results.json")):
    return out
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data,
      "--init_checkpoint=" + model, "--output_dir=" + out, "--do_train",
      "--max_seq_length=48", "--train_batch_size=16", "--num_train_steps=6",
      "--learning_rate=1e-3", "--seed=3", *extra)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return out


@pytest.mark.slow
@pytest.mark.parametrize("extra", [
    # The plain path (grouped by length) under mirrored is the NER and
    # pre-training test's; this one adds what changes the step.
    ("--gradient_accumulation_steps=2", "--layerwise_lr_decay=0.8",
     "--freeze_embeddings", "--pack_sequences"),
])
def test_mirrored_on_two_devices_equals_one_device(setup, extra):
  one = _train(setup, "one" + "".join(extra), *extra)
  two = _train(setup, "two" + "".join(extra), *extra,
               "--distribution_strategy=mirrored", "--num_gpus=2")
  with open(os.path.join(two, "run_results.json")) as f:
    results = json.load(f)
  assert results["distribution"] == {
      "strategy": "mirrored", "replicas": 2, "per_replica_batch": 8,
      "devices": ["/cpu:0", "/cpu:1"]}
  a, b = _weights(one), _weights(two)
  assert set(a) == set(b)
  init = _init_weights(setup[1])
  moved = [n for n in init if n.startswith("bert/encoder")
           and not np.allclose(a[n], init[n])]
  assert moved, "the encoder did not train"


def _init_weights(model):
  reader = tf.train.load_checkpoint(os.path.join(model, "bert_model.ckpt"))
  return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


def test_plan_rules():
  p = distribution.plan("mirrored", 2, 32, gpus=[])
  assert (p.replicas, p.per_replica_batch, p.cpu_devices) == (2, 16, 2)
  p = distribution.plan("mirrored", None, 32, gpus=["g0", "g1", "g2", "g3"])
  assert p.devices == ("/gpu:0", "/gpu:1", "/gpu:2", "/gpu:3")
  assert p.per_replica_batch == 8 and p.cpu_devices == 0
  assert distribution.plan("none", None, 32).replicas == 1
  with pytest.raises(SettingsError, match="multiple of 3"):
    distribution.plan("mirrored", 3, 32, gpus=[])
  with pytest.raises(SettingsError, match="has 2 GPU"):
    distribution.plan("mirrored", 4, 32, gpus=["g0", "g1"])
  with pytest.raises(SettingsError, match="needs --distribution_strategy"):
    distribution.plan("none", 2, 32)


def test_uneven_batch_is_a_user_error(setup, tmp_path):
  data, model, _ = setup
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data,
      "--init_checkpoint=" + model, "--output_dir=" + str(tmp_path / "o"),
      "--do_train", "--train_batch_size=15",
      "--distribution_strategy=mirrored", "--num_gpus=2")
  clirun.assert_user_error(proc, "--train_batch_size=15", "multiple of 2")


# ------------------------------------------------------- multi-worker ---

MULTI_WORKER = ("--distribution_strategy=multi_worker_mirrored",)


def _command(setup, out, *extra):
  data, model, _ = setup
  return [sys.executable, os.path.join(REPO_DIR, "run_classifier.py"),
          "--task=chnsenticorp", "--data_dir=" + data,
          "--init_checkpoint=" + model, "--output_dir=" + out, "--do_train",
          "--max_seq_length=48", "--train_batch_size=16", "--seed=3",
          "--learning_rate=1e-3", "--log_every_seconds=0.5"] + list(extra)


def _tf_configs(n):
  from tools import local_cluster  # pylint: disable=g-import-not-at-top
  return local_cluster.tf_configs(n, local_cluster.free_ports(n))


@pytest.mark.slow
def test_two_workers_with_tf_config_by_hand_train_one_model(setup):
  """Two processes, TF_CONFIG set by hand, the same --output_dir: the
  weights of one process with the same global batch (1e-5)."""
  one = _train(setup, "one")
  out = str(setup[2] / "by_hand")
  procs = []
  for _, config in _tf_configs(2):
    env = dict(os.environ, TF_CONFIG=config, TF_CPP_MIN_LOG_LEVEL="2")
    procs.append(subprocess.Popen(
        _command(setup, out, "--num_train_steps=6", *MULTI_WORKER),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        universal_newlines=True))
  logs = [p.communicate(timeout=600)[1] for p in procs]
  for proc, log in zip(procs, logs):
    assert proc.returncode == 0, log[-3000:]
  assert "2 workers, this one worker:0 (the chief)" in logs[0]
  a, b = _weights(one), _weights(out)
  assert set(a) == set(b)
  for name in a:
    np.testing.assert_allclose(b[name], a[name], atol=1e-5, err_msg=name)
  with open(os.path.join(out, "run_results.json")) as f:
    results = json.load(f)
  assert results["distribution"]["replicas"] == 2
  assert results["distribution"]["per_replica_batch"] == 8


def _wait_for_checkpoint(run_dir, step, timeout=120):
  deadline = time.time() + timeout
  while time.time() < deadline:
    latest = tf.train.latest_checkpoint(run_dir)
    if latest and latest.endswith("-%d" % step):
      return
    time.sleep(0.05)
  raise AssertionError("no checkpoint at step %d in %s after %d s"
                       % (step, run_dir, timeout))


@pytest.mark.slow
def test_local_cluster_killed_worker_fails_then_resumes(setup):
  """tools/local_cluster.py: a worker killed mid-run stops the cluster
  with a message naming it; the same command again resumes from the
  chief's last checkpoint and ends with the uninterrupted run's weights."""
  steps = ("--num_train_steps=8", "--save_checkpoints_steps=4")
  one = _train(setup, "one8", *steps)
  out = str(setup[2] / "cluster")
  launcher = [sys.executable, os.path.join(REPO_DIR, "tools",
                                           "local_cluster.py"),
              "--num_workers=2", "--"] + _command(setup, out, *steps,
                                                  *MULTI_WORKER)
  proc = subprocess.Popen(launcher, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  pids, lines, killed = {}, [], False
  for line in proc.stdout:
    lines.append(line)
    started = re.match(r"\[local_cluster\] (worker \d+): pid (\d+)", line)
    if started:
      pids[started.group(1)] = int(started.group(2))
    if not killed and "Saving checkpoints for 4 " in line:
      # The line comes before the chief writes the checkpoint. Worker 1
      # is frozen first, so the cluster cannot step past 5, and killed
      # only once the step-4 checkpoint is on disk: a kill at the line
      # itself raced the chief's save (CI once saw model.ckpt-0).
      os.kill(pids["worker 1"], signal.SIGSTOP)
      _wait_for_checkpoint(out, 4)
      os.kill(pids["worker 1"], signal.SIGKILL)
      killed = True
  proc.wait(timeout=600)
  log = "".join(lines)
  assert killed, log[-3000:]
  assert proc.returncode != 0, log[-3000:]
  assert "worker 1 exited with status -9: stopping the others" in log
  assert tf.train.latest_checkpoint(out).endswith("-4")

  again = subprocess.run(launcher, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True,
                         timeout=600,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  assert again.returncode == 0, again.stdout[-3000:]
  assert "Resuming from" in again.stdout and "at step 4 of 8" in \
      again.stdout
  a, b = _weights(one), _weights(out)
  for name in a:
    np.testing.assert_allclose(b[name], a[name], atol=1e-5, err_msg=name)


def test_multi_worker_user_errors(setup, tmp_path):
  data, model, _ = setup
  base = ("run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data,
          "--init_checkpoint=" + model, "--do_train",
          "--output_dir=" + str(tmp_path / "o"))
  proc = clirun.run_script(*base, *MULTI_WORKER)
  clirun.assert_user_error(proc, "TF_CONFIG", "tools/local_cluster.py")
  env = {"TF_CONFIG": "{not json"}
  with pytest.raises(SettingsError, match="TF_CONFIG is not"):
    distribution.plan("multi_worker_mirrored", None, 32, environ=env)
  env = {"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]},
                                  "task": {"type": "worker", "index": 3}})}
  with pytest.raises(SettingsError, match="not in its cluster"):
    distribution.plan("multi_worker_mirrored", None, 32, environ=env)
  with pytest.raises(SettingsError, match="unset TF_CONFIG"):
    distribution.plan("none", None, 32, environ=env)
  env = {"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1", "b:2",
                                                        "c:3"]},
                                  "task": {"type": "worker", "index": 1}})}
  with pytest.raises(SettingsError, match="multiple of 3"):
    distribution.plan("multi_worker_mirrored", None, 32, environ=env,
                      build=False)
  with pytest.raises(SettingsError, match="\"ps\" tasks"):
    distribution.plan("parameter_server", None, 32, environ=env)
  env_ps = {"TF_CONFIG": json.dumps({
      "cluster": {"worker": ["a:1", "b:2"], "ps": ["c:3"]},
      "task": {"type": "worker", "index": 1}})}
  with pytest.raises(SettingsError, match="needs a \"chief\""):
    distribution.plan("parameter_server", None, 32, environ=env_ps)
  p = distribution.plan("multi_worker_mirrored", None, 48, environ=env,
                        build=False)
  assert (p.replicas, p.per_replica_batch, p.cluster.is_chief) == (3, 16,
                                                                   False)


def test_slurm_tf_config_from_slurm_environment():
  env = dict(os.environ, SLURM_PROCID="1", SLURM_NTASKS="2",
             SLURM_STEP_NUM_TASKS="2", SLURM_STEP_NODELIST="node[01-02]",
             SLURM_STEP_TASKS_PER_NODE="1(x2)", SLURM_NODELIST="node[01-02]",
             SLURM_TASKS_PER_NODE="1(x2)")
  script = os.path.join(REPO_DIR, "tools", "slurm_tf_config.py")
  proc = subprocess.run([sys.executable, script], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  config = json.loads(proc.stdout)
  assert config == {"cluster": {"worker": ["node01:8888", "node02:8888"]},
                    "task": {"type": "worker", "index": 1}}
  cluster = distribution.read_cluster({"TF_CONFIG": proc.stdout})
  assert (cluster.num_workers, cluster.is_chief) == (2, False)
  env.pop("SLURM_PROCID")
  proc = subprocess.run([sys.executable, script], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=120)
  assert proc.returncode == 1 and proc.stderr.startswith("error: ")


@pytest.mark.slow
def test_parameter_server_cluster_trains_and_the_chief_evaluates(setup):
  """1 ps, a chief and a worker (tools/local_cluster.py --num_ps=1):
  asynchronous training to the last step; the chief evaluates its
  checkpoint and writes the results; the ps task is stopped at the end."""
  out = str(setup[2] / "ps")
  launcher = [sys.executable, os.path.join(REPO_DIR, "tools",
                                           "local_cluster.py"),
              "--num_workers=2", "--num_ps=1", "--"] + _command(
                  setup, out, "--num_train_steps=8", "--do_eval",
                  "--distribution_strategy=parameter_server")
  proc = subprocess.run(launcher, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, universal_newlines=True,
                        timeout=600,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  assert proc.returncode == 0, proc.stdout[-4000:]
  assert "[ps 0] INFO:tensorflow:Parameter server ps:0" in proc.stdout
  assert "parameter_server: 1 ps, 2 workers" in proc.stdout
  with open(os.path.join(out, "run_results.json")) as f:
    results = json.load(f)
  assert results["train"]["global_step"] >= 8
  assert 0.0 <= results["eval"]["accuracy"] <= 1.0
  assert results["distribution"]["strategy"] == "parameter_server"
  assert os.path.isfile(os.path.join(out, "eval_results.txt"))


def _run_weights(script, out, *args):
  proc = clirun.run_script(script, "--output_dir=" + out, *args)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return _weights(out)


@pytest.mark.slow
def test_ner_and_pretraining_under_mirrored_equal_one_device(setup):
  """The other run scripts take the same flags through the same skeleton:
  a softmax tagger (a token-level mean: the replicas' slices hold
  different numbers of tokens) and pre-training (its own input function)
  on 2 replicas equal one device (1e-5); a CRF head is refused under
  mirrored (TF cannot place its loop's gradient there)."""
  from bert_toolkit.data import pretraining_data as data_lib  # pylint: disable=g-import-not-at-top
  from tests.paths import DATA_DIR  # pylint: disable=g-import-not-at-top
  data, model, root = setup
  two = ("--distribution_strategy=mirrored", "--num_gpus=2")
  ner = datasets.ner_splits(
      os.path.join(DATA_DIR, "peoples_daily_ner", "example.dev"),
      str(root / "ner"), (0, 64), (64, 80), (80, 96))
  args = ("--task=peoples_daily", "--data_dir=" + ner,
          "--init_checkpoint=" + model, "--do_train", "--max_seq_length=48", "--train_batch_size=16",
          "--num_train_steps=4", "--learning_rate=1e-3", "--seed=3")
  a = _run_weights("run_ner.py", str(root / "ner1"), *args)
  b = _run_weights("run_ner.py", str(root / "ner2"), *args, *two)
  for name in a:
    np.testing.assert_allclose(b[name], a[name], atol=1e-5, err_msg=name)
  proc = clirun.run_script("run_ner.py", "--output_dir=" + str(root / "c"),
                           *args, "--crf", *two)
  clirun.assert_user_error(proc, "CRF head", "multi_worker_mirrored")

  with open(os.path.join(data, "train.tsv"), encoding="utf-8") as f:
    reviews = [l.split("\t", 1)[1].strip() for l in f.read().splitlines()[1:]]
  corpus = str(root / "corpus.txt")
  with open(corpus, "w", encoding="utf-8") as f:
    for i in range(0, len(reviews), 4):
      f.write("\n".join(reviews[i:i + 4]) + "\n\n")
  record = str(root / "pretraining.tfrecord")
  data_lib.create(data_lib.DataSettings(
      [corpus], [record], os.path.join(model, "vocab.txt"),
      max_seq_length=48, max_predictions_per_seq=8, dupe_factor=1,
      num_workers=1))
  args = ("--input_file=" + record, "--init_checkpoint=" + model,
          "--do_train", "--train_batch_size=8", "--num_train_steps=4",
          "--num_warmup_steps=0", "--learning_rate=1e-3",
          "--max_seq_length=48", "--max_predictions_per_seq=8")
  a = _run_weights("run_pretraining.py", str(root / "pt1"), *args)
  b = _run_weights("run_pretraining.py", str(root / "pt2"), *args, *two)
  for name in a:
    np.testing.assert_allclose(b[name], a[name], atol=1e-5, err_msg=name)


@pytest.mark.parametrize("config,fragment", [
    ({"cluster": [], "task": {"type": "worker", "index": 0}},
     "\"cluster\" is []"),
    ([], "a JSON list"),
    ({"cluster": {}, "task": {"type": "worker", "index": 0}},
     "\"cluster\" is {}"),
    ({"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}},
     "job 'worker' is \"a:1\""),
    ({"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}},
     "host:port"),
    ({"cluster": {"workers": ["a:1"]}, "task": {"type": "worker"}},
     "job 'workers'"),
    ({"cluster": {"worker": ["a:1"]}, "task": []}, "\"task\" is []"),
    ({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker",
                                               "index": "0"}},
     "index is \"0\""),
    ({"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}},
     "not in its cluster"),
])
def test_tf_config_structure_is_checked(config, fragment):
  """Any TF_CONFIG that is not a cluster of host:port lists and a task in
  it is one SettingsError naming TF_CONFIG and the fix, for each strategy
  that reads it."""
  env = {"TF_CONFIG": json.dumps(config)}
  for strategy in ("multi_worker_mirrored", "parameter_server"):
    with pytest.raises(SettingsError) as raised:
      distribution.plan(strategy, None, 32, environ=env, build=False)
    message = str(raised.value)
    assert fragment in message and "TF_CONFIG must be" in message, message
