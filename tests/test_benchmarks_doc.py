"""docs/benchmarks.md is what tools/benchmarks_doc.py makes of
bench/results/*.json: the committed page is up to date, a changed figure
makes --check fail until the page is written again, and a results file no
section shows is refused."""

import json
import os
import shutil
import subprocess
import sys

from tests.paths import REPO_DIR
from tools import benchmarks_doc


def _copy_results(tmp_path):
  results = tmp_path / "results"
  shutil.copytree(benchmarks_doc.RESULTS_DIR, str(results))
  return results


def test_the_page_is_up_to_date():
  result = subprocess.run(
      [sys.executable, os.path.join(REPO_DIR, "tools", "benchmarks_doc.py"),
       "--check"], capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr


def test_a_changed_figure_makes_the_page_stale(tmp_path):
  results = _copy_results(tmp_path)
  path = results / "distill.json"
  data = json.loads(path.read_text(encoding="utf-8"))
  data["sst2"]["teacher"]["dev_accuracy"] = 0.9512
  path.write_text(json.dumps(data), encoding="utf-8")
  assert benchmarks_doc.main(["--check", "--results", str(results)]) == 1

  page = tmp_path / "benchmarks.md"
  assert benchmarks_doc.main(["--results", str(results),
                              "--page", str(page)]) == 0
  assert "| teacher: MiniLM, 6 layers | 0.9512 |" in page.read_text(
      encoding="utf-8")
  assert benchmarks_doc.main(["--check", "--results", str(results),
                              "--page", str(page)]) == 0


def test_a_results_file_without_a_section_is_refused(tmp_path, capsys):
  results = _copy_results(tmp_path)
  (results / "new_benchmark.json").write_text("{}", encoding="utf-8")
  assert benchmarks_doc.main(["--check", "--results", str(results)]) == 1
  assert "new_benchmark.json" in capsys.readouterr().err


def test_a_change_measured_across_two_processors_is_refused(tmp_path,
                                                             capsys):
  # "What each change gave" compares the runs before and after a change;
  # rates from two processors say nothing about the change.
  results = _copy_results(tmp_path)
  path = results / "training_after_memory.json"
  data = json.loads(path.read_text(encoding="utf-8"))
  data["machine"] = {"cpu": "Some Other CPU", "cpus": 2,
                     "matrix_instructions": [], "python": "3.11.7"}
  path.write_text(json.dumps(data), encoding="utf-8")
  assert benchmarks_doc.main(["--check", "--results", str(results)]) == 1
  assert "same processor" in capsys.readouterr().err


def test_a_section_names_the_processor_its_file_records(tmp_path):
  results = _copy_results(tmp_path)
  path = results / "distill.json"
  data = json.loads(path.read_text(encoding="utf-8"))
  data["machine"] = {"cpu": "Some Xeon", "cpus": 2,
                     "matrix_instructions": ["amx_int8"], "python": "3.11.7"}
  path.write_text(json.dumps(data), encoding="utf-8")
  page = tmp_path / "benchmarks.md"
  assert benchmarks_doc.main(["--results", str(results),
                              "--page", str(page)]) == 0
  words = " ".join(page.read_text(encoding="utf-8").split())
  assert ("Measured 2026-11-30 on Some Xeon, 2 cores, with amx_int8; figures "
          "from `bench/results/distill.json`") in words
