"""The documentation pages hold together: every relative link of README.md,
README.zh-CN.md and docs/*.md names a file of the repository, and every
#anchor a heading of its page; no page but the architecture page (whose
measured table compares with it) names the earlier layout's paths; the
README stays short."""

import glob
import os
import re

from tests.paths import REPO_DIR

PAGES = ([os.path.join(REPO_DIR, "README.md"),
          os.path.join(REPO_DIR, "README.zh-CN.md")] +
         sorted(glob.glob(os.path.join(REPO_DIR, "docs", "*.md"))))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading):
  """GitHub's anchor of a heading."""
  text = re.sub(r"`", "", heading.strip().lower())
  text = re.sub(r"[^\w\- ]", "", text)
  return text.replace(" ", "-")


def _anchors(path):
  with open(path, encoding="utf-8") as f:
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.*)$", f.read(),
                                                     re.M)}


def test_every_link_resolves():
  broken = []
  for page in PAGES:
    with open(page, encoding="utf-8") as f:
      text = f.read()
    for target in LINK.findall(text):
      if target.startswith(("http://", "https://", "mailto:")):
        continue
      path, _, anchor = target.partition("#")
      resolved = (os.path.normpath(os.path.join(os.path.dirname(page), path))
                  if path else page)
      where = "%s -> %s" % (os.path.relpath(page, REPO_DIR), target)
      if not os.path.exists(resolved):
        broken.append(where + " (no such file)")
      elif anchor and resolved.endswith(".md") and \
          anchor not in _anchors(resolved):
        broken.append(where + " (no such heading)")
  assert not broken, broken


def test_pages_name_the_current_layout_and_the_readme_is_short():
  for page in PAGES:
    if page.endswith("architecture.md"):
      continue            # its measured table names the earlier layout
    with open(page, encoding="utf-8") as f:
      text = f.read()
    assert not re.search(r"\b(finetuning|webstudio)/", text), page
  with open(PAGES[0], encoding="utf-8") as f:
    assert len(f.read().splitlines()) <= 250
