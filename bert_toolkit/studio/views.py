"""What the studio's pages show of a run, read from its folder only.

Sources (nothing is kept in memory between requests):
  job.json              status, command, settings (jobs.py)
  log.txt               the progress lines "train: step 120/625, ... ETA
                        0:03:00" (bert_toolkit/runs/progress.py) and the tail
  output/curves.jsonl   loss, lr and dev-metric curves, and the step
                        training has reached (bert_toolkit/runs/curves.py)
  output/run_results.json  the final evaluation: scalars, the confusion
                        matrix (classification) or "per_type" P/R/F1 (NER)
  output/best/best.json the best dev value so far (a run still training)
  export/<version>/     the newest SavedModel export

Rules:
  - A dev metric named "name/label" (per-label or per-type) is kept out
    of the curves and goes to the report.
  - The step and total come from curves.jsonl, written as training goes
    (a line every step up to 400 steps, about 200 a run beyond), else from
    the newest progress line of the log (printed every 10 s); the ETA from
    that line. A run that has ended shows its last step and no ETA.
"""

import json
import os
import re

from bert_toolkit import errors
from bert_toolkit import kinds
from bert_toolkit.runs import curves as curves_lib
from bert_toolkit.studio import commands
from bert_toolkit.studio import i18n
from bert_toolkit.studio import jobs as jobs_lib
from bert_toolkit.studio import workspace as workspace_lib

LOG_TAIL_LINES = 60
RESULTS_FILE = "run_results.json"
BEST_FILE = os.path.join("best", "best.json")
RUN_INFO_FILE = "run_info.json"     # bert_toolkit.runs.run_info (TensorFlow)
DEV_PREDICTIONS_FILE = "dev_predictions.jsonl"      # the same module's
MAX_PREDICTION_ROWS = 200
_PROGRESS = re.compile(r"train: step (\d+)/(\d+),")
_ETA = re.compile(r"ETA (\d+):(\d\d):(\d\d)")
_ERROR = re.compile(r"^error: .*$", re.M)


def _tail_text(path, max_bytes=64 * 1024):
  try:
    with open(path, "rb") as f:
      f.seek(0, os.SEEK_END)
      size = f.tell()
      f.seek(max(0, size - max_bytes))
      return f.read().decode("utf-8", "replace")
  except OSError:
    return ""


def _output(workspace, job, name=""):
  return os.path.join(workspace.root, job["output_dir"], name)


def progress(job, log_text, curve=(None, None)):
  """(step, total_steps, eta_seconds): the newest progress line's, with
  `curve` ((step, total) from curves.progress) taking over where its step
  is newer."""
  step = total = eta = None
  for line in log_text.splitlines():
    match = _PROGRESS.search(line)
    if match:
      step, total = int(match.group(1)), int(match.group(2))
      left = _ETA.search(line)
      eta = (int(left.group(1)) * 3600 + int(left.group(2)) * 60 +
             int(left.group(3))) if left else None
  if curve[0] is not None and (step is None or curve[0] > step):
    step, total = curve[0], curve[1] or total
  if job["status"] != "running":
    eta = None
  return step, total, eta


def results(workspace, job):
  """run_results.json of the run (None before the run has ended)."""
  return jobs_lib.read_json(_output(workspace, job, RESULTS_FILE))


def _log_text(workspace, job):
  return _tail_text(os.path.join(workspace.run_dir(job["id"]),
                                 jobs_lib.LOG_FILE))


def error_line(text):
  """The last `error: ...` line of a script's output, or None."""
  errors = _ERROR.findall(text)
  return errors[-1] if errors else None


def summary(workspace, job, log_text=None, final=None):
  """A run's line in the runs list (log_text and final: the log's tail and
  run_results.json, when the caller has read them)."""
  if log_text is None:
    log_text = _log_text(workspace, job)
  step, total, eta = progress(job, log_text, curves_lib.progress(
      _output(workspace, job, curves_lib.CURVES_FILE)))
  final = (results(workspace, job) if final is None else final) or {}
  total = final.get("num_train_steps") or total
  if job["status"] == "done" and total:
    step = (final.get("train") or {}).get("global_step", total)
  metric = None
  evaluation = final.get("eval")
  if evaluation:
    name = _main_metric(evaluation, final)
    metric = {"name": name, "value": evaluation[name]} if name else None
  else:
    best = jobs_lib.read_json(_output(workspace, job, BEST_FILE))
    if best:
      metric = {"name": best.get("metric"), "value": best.get("value")}
  kind = commands.KINDS.get(job["kind"])
  return {"id": job["id"], "name": job["name"], "kind": job["kind"],
          "kind_zh": i18n.short_title_zh(kind.title) if kind else None,
          "status": job["status"], "created": job["created"],
          "step": step, "total_steps": total,
          "progress": (min(1.0, step / float(total)) if step and total
                       else (1.0 if job["status"] == "done" else None)),
          "eta_seconds": eta, "metric": metric,
          "exit_code": job.get("exit_code"),
          "error": error_line(log_text) if job["status"] == "failed"
                   else None,
          "resumable": resumable(job),
          "tags": list(job.get("tags") or []),
          "archived": bool(job.get("archived"))}


def resumable(job):
  """Whether resuming can help: a stopped run, or one that failed
  otherwise than on a user error (a crash, a kill: it goes on from its
  last checkpoint). A run stopped by an `error:` line would stop the same
  way again; its page says what to change instead."""
  if job["status"] == "stopped":
    return True
  return (job["status"] == "failed" and
          job.get("exit_code") != errors.EXIT_USER_ERROR)


class SummaryCache(object):
  """The runs list's summaries, made again only for a run whose job,
  log, curves.jsonl, run_results.json or best.json changed (size and mtime): the list
  is polled every 2 s, and a finished run's files no longer change."""

  def __init__(self):
    self.entries = {}           # run id -> (key, summary)

  @staticmethod
  def _key(workspace, job):
    stats = []
    for path in (os.path.join(workspace.run_dir(job["id"]), jobs_lib.LOG_FILE),
                 _output(workspace, job, curves_lib.CURVES_FILE),
                 _output(workspace, job, RESULTS_FILE),
                 _output(workspace, job, BEST_FILE)):
      try:
        info = os.stat(path)
        stats.append((info.st_mtime_ns, info.st_size))
      except OSError:
        stats.append(None)
    return (json.dumps(job, sort_keys=True), tuple(stats))

  def summaries(self, workspace, jobs):
    """summary() of each job, in the order given."""
    entries, out = {}, []
    for job in jobs:
      key = self._key(workspace, job)
      cached = self.entries.get(job["id"])
      entries[job["id"]] = cached if cached and cached[0] == key else (
          key, summary(workspace, job))
      out.append(entries[job["id"]][1])
    self.entries = entries
    return out


def _main_metric(evaluation, final):
  """The metric that picked the run's best checkpoint (the task's own, as
  run_results.json records it), else the first usual one present."""
  chosen = ((final.get("settings") or {}).get("train") or {}).get(
      "best_metric")
  if isinstance(evaluation.get(chosen), (int, float)):
    return chosen
  for name in ("accuracy", "f1", "micro_f1", "macro_f1"):
    if isinstance(evaluation.get(name), (int, float)):
      return name
  return None


def run_curves(workspace, job):
  """{"train": [...], "eval": [...]} with per-label metrics left out."""
  data = curves_lib.read(_output(workspace, job, curves_lib.CURVES_FILE))
  points = [{k: v for k, v in p.items() if "/" not in k}
            for p in data["eval"]]
  return {"train": data["train"], "eval": points}


def report(final):
  """The evaluation report: a confusion matrix or per-type P/R/F1."""
  evaluation = (final or {}).get("eval") or {}
  labels = final.get("labels") if final else None
  if "confusion_matrix" in evaluation and labels:
    per_label = []
    for i, label in enumerate(labels):
      row = evaluation["confusion_matrix"][i]
      per_label.append({
          "label": label, "support": int(sum(row)),
          "precision": evaluation.get("precision/%s" % label),
          "recall": evaluation.get("recall/%s" % label),
          "f1": evaluation.get("f1/%s" % label)})
    return {"type": "confusion", "labels": labels,
            "matrix": [[int(x) for x in row]
                       for row in evaluation["confusion_matrix"]],
            "per_label": per_label}
  per_type = evaluation.get("per_type")
  if not isinstance(per_type, dict):
    return None
  rows = [{"type": t, "precision": v.get("precision"),
           "recall": v.get("recall"), "f1": v.get("f1-score", v.get("f1")),
           "support": v.get("support")} for t, v in sorted(per_type.items())]
  return {"type": "per_type", "rows": rows,
          "overall": {k: evaluation.get(k) for k in
                      ("precision", "recall", "f1")}}


def newest_export(workspace, job):
  """runs/<id>/export/<highest version> (relative), or None."""
  base = os.path.join(workspace.run_dir(job["id"]), "export")
  if not os.path.isdir(base):
    return None
  versions = [int(v) for v in os.listdir(base) if v.isdigit() and
              os.path.isfile(os.path.join(base, v, "saved_model.pb"))]
  if not versions:
    return None
  return workspace.relative(os.path.join(base, str(max(versions))))


def scalars(evaluation):
  """The metrics of an evaluation, per-label ones included: its plain
  numbers but the step it evaluated (`evaluated` says which)."""
  return {k: v for k, v in (evaluation or {}).items()
          if isinstance(v, (int, float)) and not isinstance(v, bool)
          and k != "global_step"}


def evaluated(final):
  """Which checkpoint the final evaluation read: {"step", "checkpoint":
  "best" or "last", "trained_steps"}; None before it. A run that keeps its
  best dev checkpoint is evaluated there, which can be well before its
  last step."""
  evaluation = (final or {}).get("eval") or {}
  if "global_step" not in evaluation:
    return None
  path = str(final.get("checkpoint") or "")
  best = "%sbest%s" % (os.sep, os.sep) in path
  return {"step": evaluation["global_step"],
          "checkpoint": "best" if best else "last",
          "trained_steps": (final.get("train") or {}).get("global_step")}


def best(workspace, job):
  """The best dev checkpoint so far, from best/best.json: {"step",
  "metric", "value"}, or None (no evaluation yet, or a run that does not
  evaluate during training)."""
  state = jobs_lib.read_json(_output(workspace, job, BEST_FILE))
  if not isinstance(state, dict) or not isinstance(state.get("step"), int):
    return None
  return {"step": state["step"], "metric": state.get("metric"),
          "value": state.get("value")}


def detail(workspace, job):
  """Everything the run page shows."""
  final = results(workspace, job)
  log_text = _log_text(workspace, job)
  lines = log_text.splitlines()[-LOG_TAIL_LINES:]
  export = newest_export(workspace, job)
  serves = commands.KINDS[job["kind"]].serves
  out = summary(workspace, job, log_text, final)
  out.update({
      "command": commands.display(job["argv"]), "argv": job["argv"],
      "settings": job["settings"],
      "curves": run_curves(workspace, job),
      "report": report(final),
      "results": scalars((final or {}).get("eval")) or None,
      "evaluated": evaluated(final),
      "best": best(workspace, job),
      "log_tail": "\n".join(lines),
      "export": {"path": export} if export else None,
      "can_try": serves and has_checkpoint(workspace, job),
      "exportable": (serves and job["status"] != "failed" and
                     has_checkpoint(workspace, job)),
      "serves": serves,
      "try_text_b": takes_text_b(workspace, job),
      "tensorboard": tensorboard([job]),
      "has_dev_predictions": os.path.isfile(
          _output(workspace, job, DEV_PREDICTIONS_FILE)),
      "try_inputs": commands.KINDS[job["kind"]].inputs,
      "try_inputs_zh": [i18n.TITLES_ZH.get(text) for text in
                        commands.KINDS[job["kind"]].inputs or ()] or None})
  return out


def takes_text_b(workspace, job):
  """Whether the run's model takes a second text. Its run_info.json
  decides (the kind it trained, and for classification its data set or
  columns; a distillation student is its teacher's kind); before that file
  exists, the studio kind does, and one that depends on the run says
  yes."""
  info = jobs_lib.read_json(_output(workspace, job, RUN_INFO_FILE))
  if isinstance(info, dict) and isinstance(info.get("kind"), str):
    try:
      return kinds.takes_text_b(info["kind"], info)
    except errors.SettingsError:      # a kind this version does not know
      pass
  value = commands.KINDS[job["kind"]].text_b
  return value if isinstance(value, bool) else True


def has_checkpoint(workspace, job):
  """A run that can be exported: its best/ or newest checkpoint exists."""
  out = _output(workspace, job)
  for folder in (os.path.join(out, "best"), out):
    if os.path.isfile(os.path.join(folder, "checkpoint")):
      return job["status"] != "running" or folder.endswith("best")
  return False


def compare(workspace, jobs):
  """Settings side by side (differing ones named), results and curves."""
  runs = []
  for job in jobs:
    final = results(workspace, job)
    runs.append({"id": job["id"], "name": job["name"], "kind": job["kind"],
                 "status": job["status"], "settings": job["settings"],
                 "results": scalars((final or {}).get("eval")) or None,
                 "evaluated": evaluated(final),
                 "curves": run_curves(workspace, job)})
  names = sorted({n for r in runs for n in r["settings"]})
  differ = [n for n in names
            if len({repr(r["settings"].get(n)) for r in runs}) > 1]
  return {"runs": runs, "differ": differ, "tensorboard": tensorboard(jobs)}


def dev_predictions(workspace, job, gold=None, predicted=None, offset=0,
                    limit=50):
  """The run's dev predictions (output/dev_predictions.jsonl, written by
  the final evaluation) for error analysis: the examples with that gold
  and predicted label (None: any), the misclassified only unless both are
  given (a confusion-matrix cell, the diagonal included), surest wrong
  first. Returns {"available", "labels", "total", "offset", "rows"}; rows
  carry "confidence" (the predicted label's probability). A line that does
  not parse is skipped."""
  path = _output(workspace, job, DEV_PREDICTIONS_FILE)
  final = results(workspace, job) or {}
  labels = final.get("labels") or []
  if not os.path.isfile(path):
    return {"available": False, "labels": labels, "total": 0,
            "offset": 0, "rows": []}
  offset = max(0, int(offset))
  limit = min(MAX_PREDICTION_ROWS, max(1, int(limit)))
  both = gold is not None and predicted is not None
  matched = []
  for row in _prediction_lines(path):
    if (gold is not None and row.get("gold") != gold) or (
        predicted is not None and row.get("predicted") != predicted):
      continue
    if not both and row.get("gold") == row.get("predicted"):
      continue
    try:
      index = labels.index(row["predicted"]) if row.get(
          "predicted") in labels else None
      probabilities = row.get("probabilities") or []
      row["confidence"] = (float(probabilities[index]) if index is not None
                           and index < len(probabilities) else None)
    except (ValueError, TypeError, KeyError):
      continue
    matched.append(row)
  matched.sort(key=lambda r: -(r["confidence"] or 0.0))
  return {"available": True, "labels": labels, "total": len(matched),
          "offset": offset, "rows": matched[offset:offset + limit]}


def _prediction_lines(path):
  """The JSON objects of a dev_predictions.jsonl; lines that do not parse
  (a write cut short) are skipped."""
  with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
      try:
        row = json.loads(line)
      except ValueError:
        continue
      if isinstance(row, dict):
        yield row


def entity_errors(workspace, job, entity_type=None, kind=None, offset=0,
                  limit=50):
  """An NER run's dev entity errors (output/dev_predictions.jsonl, written
  by the final evaluation; the kinds are bert_toolkit.tasks.tagging's):
  {"available", "counts": {type: {kind: n}}, "total", "offset", "rows"}
  with the rows of that type and kind (None: any), each {"index", "text",
  "kind", "type", "gold", "predicted"} in sentence order."""
  path = _output(workspace, job, DEV_PREDICTIONS_FILE)
  if not os.path.isfile(path):
    return {"available": False, "counts": {}, "total": 0, "offset": 0,
            "rows": []}
  offset = max(0, int(offset))
  limit = min(MAX_PREDICTION_ROWS, max(1, int(limit)))
  counts, matched = {}, []
  for row in _prediction_lines(path):
    errors = row.get("errors")
    for error in errors if isinstance(errors, list) else ():
      if not isinstance(error, dict) or not isinstance(
          error.get("type"), str) or not isinstance(error.get("kind"), str):
        continue
      per_type = counts.setdefault(error["type"], {})
      per_type[error["kind"]] = per_type.get(error["kind"], 0) + 1
      if (entity_type is None or error["type"] == entity_type) and (
          kind is None or error["kind"] == kind):
        matched.append({"index": row.get("index"), "text": row.get("text"),
                        "kind": error["kind"], "type": error["type"],
                        "gold": error.get("gold"),
                        "predicted": error.get("predicted")})
  return {"available": True, "counts": counts, "total": len(matched),
          "offset": offset, "rows": matched[offset:offset + limit]}


LENGTH_BUCKETS = (16, 32, 64, 128, 256, 512)


def data_preview(workspace, folder, kind, model=None):
  """A data folder as the studio's form previews it (the kind's preview
  function, bert_toolkit.kinds): rows per split, columns, label counts,
  problems with file and line, and the WordPiece lengths of the train
  texts as a histogram (LENGTH_BUCKETS, "upto" inclusive; None for the
  rest) with their median, 95th percentile and maximum. Lengths need a
  model folder (its vocab.txt, and its config's do_lower_case when it has
  one, else lower case); without one there are none.

  Raises:
    workspace.PathError: a folder outside data/ or models/;
    commands.RequestError: an unknown kind, or one without a preview.
  """
  row = commands.KINDS.get(kind)
  if row is None or row.preview is None:
    raise commands.RequestError(
        "kind: one of %s (a data preview), got %r",
        ", ".join(k for k, v in commands.KINDS.items() if v.preview), kind)
  data_dir = workspace.resolve(folder, "data")
  if not os.path.isdir(data_dir):
    raise commands.RequestError("folder: %r is not a data folder", folder)
  tokenize = None
  if model:
    model_dir = workspace.resolve(model, workspace_lib.model_top(model))
    vocab = os.path.join(model_dir, "vocab.txt")
    if os.path.isfile(vocab):
      import tokenization  # pylint: disable=g-import-not-at-top
      lower = True
      for name in sorted(os.listdir(model_dir)):
        config = jobs_lib.read_json(os.path.join(model_dir, name)) if (
            name.endswith("config.json")) else None
        if isinstance(config, dict) and isinstance(
            config.get("do_lower_case"), bool):
          lower = config["do_lower_case"]
      tokenizer = tokenization.FullTokenizer(vocab, lower)
      tokenize = tokenizer.tokenize
  out = row.preview(data_dir, {}, tokenize or (lambda text: []))
  lengths = sorted(out.pop("lengths")) if tokenize else []
  histogram = [{"upto": edge, "count": 0} for edge in LENGTH_BUCKETS] + [
      {"upto": None, "count": 0}]
  for n in lengths:
    bucket = next((i for i, edge in enumerate(LENGTH_BUCKETS) if n <= edge),
                  len(LENGTH_BUCKETS))
    histogram[bucket]["count"] += 1
  out["lengths"] = {
      "measured": len(lengths), "histogram": histogram if lengths else [],
      "p50": lengths[len(lengths) // 2] if lengths else None,
      "p95": lengths[min(len(lengths) - 1, int(len(lengths) * 0.95))]
             if lengths else None,
      "max": lengths[-1] if lengths else None}
  out["folder"] = workspace.relative(data_dir)
  return out


def tensorboard(jobs):
  """The command that shows the runs' event files (the Estimator writes
  them to the output folder) in TensorBoard, typed in the workspace."""
  if len(jobs) == 1:
    return "tensorboard --logdir=%s" % jobs[0]["output_dir"]
  return "tensorboard --logdir_spec=%s" % ",".join(
      "%s:%s" % (job["id"], job["output_dir"]) for job in jobs)
