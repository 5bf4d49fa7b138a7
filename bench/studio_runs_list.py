"""The studio's runs list with many runs: one poll's time without and with
the summary cache (bert_toolkit/studio/views.py: SummaryCache).

Makes N finished runs in a scratch workspace, each with a 64 KB log (the
tail the list reads) and a run_results.json, then times the list as the
page polls it (every 2 s):

  python bench/studio_runs_list.py --runs=200 \
      --out=bench/results/studio_runs_list.json
"""

import argparse
import json
import os
import tempfile
import time

from bert_toolkit.runs import atomic
from bert_toolkit.studio import jobs as jobs_lib
from bert_toolkit.studio import views
from bert_toolkit.studio import workspace as workspace_lib


def _make_runs(workspace, count):
  line = "train: step %d/937, 2.4 steps/s, loss 0.3120, ETA 0:05:00\n"
  jobs = []
  for number in range(1, count + 1):
    run_id = "r%d" % number
    output = os.path.join(workspace.root, "runs", run_id, "output")
    os.makedirs(output)
    with open(os.path.join(workspace.run_dir(run_id), jobs_lib.LOG_FILE),
              "w") as f:
      step = 0
      while f.tell() < 64 * 1024:
        step += 1
        f.write(line % step)
    atomic.atomic_json(os.path.join(output, "run_results.json"), {
        "num_train_steps": 937, "eval": {"accuracy": 0.87, "loss": 0.3}})
    jobs.append({"id": run_id, "name": run_id, "kind": "classification",
                 "status": "done", "output_dir": "runs/%s/output" % run_id,
                 "argv": [], "settings": {}, "created": number})
  return jobs


def _best_of(function, repeats=5):
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    function()
    times.append(time.perf_counter() - start)
  return min(times)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--runs", type=int, default=200)
  parser.add_argument("--out", required=True)
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as root:
    workspace = workspace_lib.Workspace(root)
    jobs = _make_runs(workspace, args.runs)
    uncached = _best_of(lambda: [views.summary(workspace, j) for j in jobs])
    cache = views.SummaryCache()
    cache.summaries(workspace, jobs)
    cached = _best_of(lambda: cache.summaries(workspace, jobs))
  result = {"runs": args.runs, "log_bytes_each": 64 * 1024,
            "poll_seconds_uncached": round(uncached, 4),
            "poll_seconds_cached": round(cached, 4),
            "speedup": round(uncached / cached, 1)}
  with open(args.out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
  print(json.dumps(result))


if __name__ == "__main__":
  main()
