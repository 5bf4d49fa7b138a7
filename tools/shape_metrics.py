r"""Measures the shape of the code in a source tree, for docs/architecture.md.

  python tools/shape_metrics.py [TREE] [--json OUT]

TREE is a checkout (default: this one); to measure an older commit,
`git archive REV | tar -x -C DIR` and name DIR. What is measured, over the
code outside tests/ (.py, .js, .css, .html, .sh files):

  largest_folder   the folder holding the most code files (not counting
                   subfolders), its files, lines and share of all lines
  longest_function the longest Python function or method, in lines
  kind_branches    comparisons with a task kind's name ("ner", "classifier",
                   "classification", "distillation", "pretraining",
                   "regression") outside the task modules: `x == "ner"`,
                   `"ner" != x`, `kind in ("ner", ...)`, and JS's === / !==
  task_names       places that list the classification data sets (a
                   literal naming three or more of them, or a text other
                   than a docstring listing them), and the same for the NER
                   data sets
  model_types      places that list the model families (a tuple, list or
                   set naming "albert" and "distilbert"), beside the family
                   registry (modeling.families.MODEL_CLASSES, a dict, like
                   the per-family tables)
  readme_lines     README.md's lines

Task modules are the files that implement one task kind: tasks/*.py here,
finetuning/{classifier,tagging,pretraining}.py in the older layout.
"""

import argparse
import ast
import collections
import json
import os
import re
import subprocess

CODE_EXTENSIONS = (".py", ".js", ".css", ".html", ".sh")
KIND_NAMES = ("ner", "classifier", "classification", "distillation",
              "pretraining", "regression")
CLASSIFICATION_SETS = ("chnsenticorp", "sst2", "lcqmc", "tnews", "cola",
                       "mrpc", "mnli", "xnli", "afqmc", "cmnli", "iflytek",
                       "csl")
NER_SETS = ("peoples_daily", "msra", "cluener", "conll2003")
_NAMES = "|".join(KIND_NAMES)
KIND_BRANCH = re.compile(
    r"(?:==|!=)=?\s*['\"](?:%s)['\"]|['\"](?:%s)['\"]\s*(?:==|!=)|"
    r"\bin\s*[(\[]\s*['\"](?:%s)['\"]" % (_NAMES, _NAMES, _NAMES))


def code_files(tree):
  """The code files outside tests/: git's tracked files in a checkout,
  else every file below tree."""
  if os.path.isdir(os.path.join(tree, ".git")):
    listed = subprocess.run(["git", "-C", tree, "ls-files"], check=True,
                            stdout=subprocess.PIPE,
                            universal_newlines=True).stdout.split()
    for rel in listed:
      if rel.endswith(CODE_EXTENSIONS) and not rel.startswith("tests/"):
        yield os.path.join(tree, rel)
    return
  for folder, dirs, files in os.walk(tree):
    dirs[:] = sorted(d for d in dirs if not d.startswith(".") and
                     d not in ("tests", "__pycache__", "node_modules"))
    for name in sorted(files):
      if name.endswith(CODE_EXTENSIONS):
        yield os.path.join(folder, name)


def _lines(path):
  with open(path, encoding="utf-8", errors="replace") as f:
    return f.read().count("\n")


def _is_task_module(rel):
  parts = rel.split(os.sep)
  if len(parts) >= 2 and parts[-2] == "tasks" and parts[-1].endswith(".py"):
    return True
  return rel in (os.path.join("finetuning", n) for n in (
      "classifier.py", "tagging.py", "pretraining.py"))


def _strings(node):
  """The string constants of a literal (a dict: its keys; a table of
  tuples: each row's first item)."""
  items = node.keys if isinstance(node, ast.Dict) else node.elts
  items = [i.elts[0] if isinstance(i, ast.Tuple) and i.elts else i
           for i in items]
  return {i.value for i in items
          if isinstance(i, ast.Constant) and isinstance(i.value, str)}


def _python_facts(path, rel):
  tree = ast.parse(open(path, encoding="utf-8").read())
  longest, facts = None, collections.defaultdict(list)
  docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                  ast.AsyncFunctionDef)) and n.body and
                isinstance(n.body[0], ast.Expr) and
                isinstance(n.body[0].value, ast.Constant)}
  for node in ast.walk(tree):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      size = node.end_lineno - node.lineno + 1
      if longest is None or size > longest[0]:
        longest = (size, "%s:%d %s" % (rel, node.lineno, node.name))
    if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
      found = _strings(node)
      where = "%s:%d" % (rel, node.lineno)
      if len(found & set(CLASSIFICATION_SETS)) >= 3:
        facts["task_names"].append(where)
      if len(found & set(NER_SETS)) >= 3:
        facts["ner_names"].append(where)
      if {"albert", "distilbert"} <= found and not isinstance(node,
                                                              ast.Dict):
        facts["model_types"].append(where)
    if (isinstance(node, ast.Constant) and isinstance(node.value, str) and
        id(node) not in docstrings):
      words = set(re.findall(r"[a-z_0-9]+", node.value))
      where = "%s:%d" % (rel, node.lineno)
      if len(words & set(CLASSIFICATION_SETS)) >= 3:
        facts["task_names"].append(where)
      if len(words & set(NER_SETS)) >= 3:
        facts["ner_names"].append(where)
  return longest, facts


def measure(tree):
  per_folder = collections.defaultdict(lambda: [0, 0])
  total = 0
  longest = None
  facts = collections.defaultdict(list)
  branches = []
  for path in code_files(tree):
    rel = os.path.relpath(path, tree)
    if rel == os.path.join("tools", "shape_metrics.py"):
      continue                        # names them to find them
    lines = _lines(path)
    total += lines
    folder = per_folder[os.path.dirname(rel) or "."]
    folder[0] += 1
    folder[1] += lines
    if path.endswith(".py"):
      found, more = _python_facts(path, rel)
      if found and (longest is None or found[0] > longest[0]):
        longest = found
      for key, places in more.items():
        facts[key].extend(places)
    if path.endswith((".py", ".js")) and not _is_task_module(rel):
      with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
          if line.lstrip().startswith(("#", "//")):
            continue
          if KIND_BRANCH.search(line):
            branches.append("%s:%d" % (rel, number))
  name, (files, lines) = max(per_folder.items(), key=lambda kv: kv[1][0])
  readme = os.path.join(tree, "README.md")
  return {
      "code_lines": total,
      "largest_folder": {"folder": name, "files": files, "lines": lines,
                         "share": round(lines / float(total), 3)},
      "longest_function": {"lines": longest[0], "where": longest[1]},
      "kind_branches": {"count": len(branches), "where": branches},
      "task_names": {"count": len(facts["task_names"]),
                     "where": facts["task_names"]},
      "ner_names": {"count": len(facts["ner_names"]),
                    "where": facts["ner_names"]},
      "model_types": {"count": len(facts["model_types"]),
                      "where": facts["model_types"]},
      "readme_lines": _lines(readme) if os.path.isfile(readme) else None,
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("tree", nargs="?", default=os.path.dirname(
      os.path.dirname(os.path.abspath(__file__))))
  parser.add_argument("--json", help="Also write the figures here.")
  args = parser.parse_args()
  figures = measure(args.tree)
  text = json.dumps(figures, indent=2)
  print(text)
  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      f.write(text + "\n")


if __name__ == "__main__":
  main()
