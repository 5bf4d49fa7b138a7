"""The studio in a real browser: headless Chromium driven by Selenium.

One flow on the tiny fixtures (bert_zh_tiny from ../shared/reference,
ChnSentiCorp and People's Daily lines from ../shared/data), with the real
scripts: start two classification runs and an NER run from the form, watch
them finish in the runs list, see curves and the reports, compare the two
classification settings, try a sentence on each kind, export.

Chromium: Debian's chromium and chromium-driver (.ci/run installs them).
Without them the test fails and says what to install.
With STUDIO_SCREENSHOTS=DIR the screenshots go to DIR too (the README's
come from `STUDIO_SCREENSHOTS=docs/studio pytest tests/test_studio_browser.py`).
"""

import json
import os
import shutil
import threading
import time

import pytest

from tests import datasets
from tests.paths import DATA_DIR, REFERENCE_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _require_browser():
  """Chromium, chromedriver and selenium must be there: .ci/run installs
  them, and a machine without them fails here with what to install."""
  missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
  try:
    import selenium  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    missing.append("selenium")
  if missing:
    pytest.fail("the browser test needs %s: apt-get install chromium "
                "chromium-driver, pip install -r requirements-dev.txt (as "
                ".ci/run does)" % ", ".join(missing))


@pytest.fixture
def browser(tmp_path):
  _require_browser()
  from selenium import webdriver  # pylint: disable=g-import-not-at-top
  from selenium.webdriver.chrome.service import Service  # pylint: disable=g-import-not-at-top
  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM
  for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--window-size=1280,1000", "--lang=en-US",
              "--user-data-dir=%s" % (tmp_path / "chromium")):
    options.add_argument(arg)
  options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
  driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
  driver.set_page_load_timeout(60)
  yield driver
  driver.quit()


def _ner_sentences(n=8):
  """The first n People's Daily dev sentences that hold an entity and have
  at most 25 characters."""
  with open(os.path.join(DATA_DIR, "peoples_daily_ner", "example.dev"),
            encoding="utf-8") as f:
    blocks = [b for b in f.read().split("\n\n") if b.strip()]
  return [b for b in blocks if "B-" in b and len(b.splitlines()) <= 25][:n]


@pytest.fixture
def studio(tmp_path):
  """A studio on a free port over a workspace of tiny fixtures."""
  from bert_toolkit.studio import server as server_lib  # pylint: disable=g-import-not-at-top
  root = tmp_path / "ws"
  datasets.chnsenticorp(str(root / "data" / "chnsenticorp"), train=32,
                        dev=16, test=8)
  # the same lines under a name that is no data set (a generic tsv), for
  # the page to upload
  datasets.chnsenticorp(str(tmp_path / "upload"), train=32, dev=16)
  ner = root / "data" / "peoples_daily"
  ner.mkdir(parents=True)
  sentences = "\n\n".join(_ner_sentences()) + "\n"
  for split in ("train", "dev"):
    (ner / ("example." + split)).write_text(sentences, encoding="utf-8")
  shutil.copytree(os.path.join(REFERENCE_DIR, "bert_zh_tiny"),
                  str(root / "models" / "bert_zh_tiny"))
  app = server_lib.Studio(str(root))
  httpd = server_lib.make_server(app, port=0)
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  yield app, "http://127.0.0.1:%d/" % httpd.server_address[1]
  httpd.shutdown()
  httpd.server_close()
  app.close()


def wait(driver, condition, timeout=120):
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=g-import-not-at-top
  return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition)


def shot(driver, tmp_path, name):
  driver.save_screenshot(str(tmp_path / name))
  target = os.environ.get("STUDIO_SCREENSHOTS")
  if target:
    os.makedirs(target, exist_ok=True)
    shutil.copy(str(tmp_path / name), os.path.join(target, name))


def fill(driver, element_id, value):
  element = driver.find_element("id", element_id)
  if not element.is_displayed():       # a field under "More settings"
    driver.find_element("css selector", "#more-settings summary").click()
  element.clear()
  element.send_keys(str(value))


def select(driver, element_id, value):
  from selenium.webdriver.support.ui import Select  # pylint: disable=g-import-not-at-top
  Select(driver.find_element("id", element_id)).select_by_value(value)


def start_run(driver, base, kind, data, name, values, screenshot=None,
              tmp_path=None):
  """Fills the new-run form, checks the command shown, starts; returns the
  run id the page went to."""
  driver.get(base + "#/new")
  wait(driver, lambda d: d.find_elements("css selector", "#kind option"))
  select(driver, "kind", kind)
  wait(driver, lambda d: d.find_elements("id", "f-learning_rate"))
  select(driver, "data", data)
  select(driver, "model", "models/bert_zh_tiny")
  fill(driver, "run-name", name)
  for key, value in values.items():
    fill(driver, "f-" + key, value)
  expected = ["--%s=" % k for k in values] + ["--data_dir=" + data]
  wait(driver, lambda d: all(
      e in d.find_element("id", "command").text for e in expected), 30)
  if screenshot:
    shot(driver, tmp_path, screenshot)
  driver.find_element("id", "start").click()
  wait(driver, lambda d: "#/run/r" in d.current_url, 30)
  return driver.current_url.rsplit("/", 1)[1]


# Words of the English page that the Chinese page must not show in its
# nav, buttons and headings.
ENGLISH_CHROME = ("New run", "Start", "Runs", "Compare", "Stop", "Resume",
                  "Export", "Try", "Delete", "Archive", "Save", "Upload",
                  "Settings", "Command", "Report", "Log", "Manage", "Loss",
                  "Learning rate", "Evaluation", "Download", "Predict")


def english_left(driver):
  """The visible nav, buttons, headings and table heads that still hold
  a word of ENGLISH_CHROME (the language switch, which names English, is
  not one)."""
  left = []
  for element in driver.find_elements(
      "css selector", "#nav a, button:not(#lang), a.button, h2, h3, h4, "
      "summary, label, thead th"):
    text = element.text
    if element.is_displayed() and any(w in text for w in ENGLISH_CHROME):
      left.append(text)
  return left


def switch_to_chinese_and_back(driver, base, run_id, tmp_path):
  """The switch in the nav: the runs list, a run page and the new-run form
  in Chinese, remembered over a reload, the server's errors in Chinese too;
  then English again."""
  driver.get(base + "#/runs")
  wait(driver, lambda d: len(d.find_elements("css selector",
                                             "tr.run-row")) == 3)
  assert driver.find_element("id", "lang").text == "中文"
  driver.find_element("id", "lang").click()
  wait(driver, lambda d: d.find_element("id", "nav-new").text == "新建运行")
  assert driver.find_element("tag name", "html").get_attribute(
      "lang") == "zh-CN"
  assert driver.execute_script(
      "return localStorage.getItem('studio.lang')") == "zh-CN"
  assert [driver.find_element("id", i).text for i in (
      "nav-runs", "nav-new", "nav-compare", "lang")] == [
          "运行列表", "新建运行", "比较", "English"]
  # the runs list, drawn again in place
  assert driver.find_element("css selector", ".toolbar h2").text == "运行列表"
  assert [th.text for th in driver.find_elements(
      "css selector", "#runs thead th")][1:8] == [
          "运行", "类型", "状态", "进度", "剩余时间", "指标", "创建时间"]
  assert [e.text for e in driver.find_elements(
      "css selector", "tr.run-row td.status")] == ["已完成"] * 3
  assert [e.text for e in driver.find_elements(
      "css selector", "tr.run-row td.kind")] == [
          "命名实体识别", "文本分类", "文本分类"]
  assert driver.find_element("css selector", ".toolbar a.button").text == (
      "新建运行")
  assert "比较所选" in driver.find_element("id", "compare-selected").text
  assert not english_left(driver), english_left(driver)
  # remembered: a reload is still Chinese
  driver.refresh()
  wait(driver, lambda d: len(d.find_elements("css selector",
                                             "tr.run-row")) == 3)
  assert driver.find_element("id", "nav-new").text == "新建运行"
  assert "Studio" in driver.title and "工作台" in driver.title
  # a run page
  driver.get(base + "#/run/" + run_id)
  wait(driver, lambda d: d.find_elements(
      "css selector", "#chart-loss path.series"))
  wait(driver, lambda d: d.find_element("id", "run-status").text == "已完成")
  assert [driver.find_element("id", i).text for i in (
      "export", "try", "manage-save", "archive", "delete")] == [
          "导出模型", "试用", "保存", "归档", "删除…"]
  headings = [h.text for h in driver.find_elements("css selector", "h3")]
  for heading in ("学习率", "评估", "评估报告", "在线试用", "命令", "设置",
                  "导出", "日志", "管理", "验证集最终结果"):
    assert heading in headings, (heading, headings)
  assert driver.find_element(
      "css selector", "#chart-loss text.axis-label").text == "步数"
  assert "验证集最佳检查点" in driver.find_element("id", "evaluated").text
  assert driver.find_element("css selector", "#confusion th.corner").text == (
      "真实 \\ 预测")
  assert not english_left(driver), english_left(driver)
  shot(driver, tmp_path, "zh-CN.png")
  # the new-run form: labels and help from the server, in Chinese; a value
  # the server refuses is refused in Chinese
  driver.get(base + "#/new")
  wait(driver, lambda d: d.find_elements("id", "f-learning_rate"))
  label = driver.find_element("css selector", "label[for='f-learning_rate']")
  assert "学习率" in label.text and "--learning_rate" in label.text
  assert driver.find_element("css selector",
                             "label[for='kind']").text == "类型"
  assert "文本分类" in driver.find_element(
      "css selector", "#kind option[value='classification']").text
  assert driver.find_element("id", "start").text == "开始运行"
  assert "峰值学习率" in driver.find_element(
      "css selector", "label[for='f-learning_rate'] ~ .help").text
  fill(driver, "f-learning_rate", "fast")
  wait(driver, lambda d: "不是 float" in d.find_element("id", "error").text,
       30)
  # (the browser logs that refusal; nothing else went wrong so far)
  severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
  assert all("/api/command" in e["message"] and "400" in e["message"]
             for e in severe), severe
  assert not english_left(driver), english_left(driver)
  # English again
  driver.find_element("id", "lang").click()
  wait(driver, lambda d: d.find_element("id", "nav-new").text == "New run")
  assert driver.find_element("id", "start").text == "Start run"
  assert driver.find_element("id", "f-learning_rate").get_attribute(
      "value") == "fast"                 # what was typed stays
  wait(driver, lambda d: "not a float" in d.find_element("id", "error").text,
       30)
  assert driver.execute_script(
      "return localStorage.getItem('studio.lang')") == "en"
  severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
  assert all("/api/command" in e["message"] and "400" in e["message"]
             for e in severe), severe
  driver.get(base + "#/runs")


@pytest.mark.slow
def test_studio_flow_in_chromium(browser, studio, tmp_path):
  app, base = studio
  driver = browser
  driver.get(base)
  assert "Studio" in driver.title

  # The form: fields named in words beside their flag; what is guessed from
  # the data folder shows in the fields the command fills; a folder with a
  # test file is predicted too; dev is evaluated during training.
  driver.get(base + "#/new")
  wait(driver, lambda d: d.find_elements("css selector", "#kind option"))
  select(driver, "kind", "classification")
  wait(driver, lambda d: d.find_elements("id", "f-learning_rate"))
  # Upload two split files into data/reviews; the form selects the folder
  # and previews it: rows, columns, labels, WordPiece lengths.
  fill(driver, "upload-folder", "reviews")
  driver.find_element("id", "upload-files").send_keys("\n".join(
      str(tmp_path / "upload" / name) for name in ("train.tsv", "dev.tsv")))
  driver.find_element("id", "upload").click()
  summary = wait(driver, lambda d: "data/reviews:" in d.find_element(
      "id", "preview-summary").text and d.find_element(
          "id", "preview-summary").text, 30)
  assert "train 32 rows" in summary and "dev 16 rows" in summary, summary
  assert "columns: label, text_a" in summary and "--task=tsv" in summary
  assert driver.find_element("id", "data").get_attribute("value") == (
      "data/reviews")
  labels = driver.find_elements("css selector", "#preview-labels tr[data-label]")
  assert sum(int(tr.find_element("css selector", "td").text)
             for tr in labels) == 32
  assert "measured" in driver.find_element("id", "preview-lengths").text
  shot(driver, tmp_path, "data-preview.png")
  wait(driver, lambda d: d.find_element("id", "f-text_a_column").get_attribute(
      "placeholder") == "guessed: text_a", 30)
  assert "--text_a_column=text_a" in driver.find_element("id", "command").text
  assert not driver.find_element("id", "f-do_predict").is_selected()
  label = driver.find_element("css selector", "label[for='f-max_seq_length']")
  assert "Max sequence length" in label.text and "--max_seq_length" in (
      label.text)
  assert driver.find_element("id", "f-eval_every_steps").get_attribute(
      "value") == "200"
  assert "--eval_every_steps=200" in driver.find_element("id", "command").text
  select(driver, "data", "data/chnsenticorp")
  wait(driver, lambda d: "(guessed: chnsenticorp)" in d.find_element(
      "css selector", "#f-task option[value='']").get_attribute("textContent"),
       30)
  assert driver.find_element("id", "f-do_predict").is_selected()
  wait(driver, lambda d: "--do_predict=true" in d.find_element(
      "id", "command").text, 30)

  cls_a = start_run(driver, base, "classification", "data/chnsenticorp",
                    "ChnSentiCorp lr 5e-5",
                    {"num_train_epochs": 2, "train_batch_size": 8,
                     "max_seq_length": 64, "eval_every_steps": 4,
                     "seed": 1},
                    "new-run.png", tmp_path)
  cls_b = start_run(driver, base, "classification", "data/reviews",
                    "uploaded reviews lr 1e-3",
                    {"num_train_epochs": 2, "train_batch_size": 8,
                     "max_seq_length": 64, "eval_every_steps": 4,
                     "learning_rate": "1e-3", "seed": 1})
  ner = start_run(driver, base, "ner", "data/peoples_daily",
                  "People's Daily tiny",
                  {"num_train_epochs": 100, "train_batch_size": 8,
                   "max_seq_length": 32, "learning_rate": "1e-3",
                   "seed": 1})
  assert (cls_a, cls_b, ner) == ("r1", "r2", "r3")

  # The runs list: one runs, the others wait; then all are done.
  driver.get(base + "#/runs")
  wait(driver, lambda d: len(d.find_elements("css selector",
                                             "tr.run-row")) == 3)
  statuses = [e.text for e in driver.find_elements("css selector",
                                                   "tr.run-row td.status")]
  assert set(statuses) <= {"queued", "running", "done"}, statuses
  wait(driver, lambda d: "done" in [e.text for e in d.find_elements(
      "css selector", "tr.run-row td.status")], 600)
  shot(driver, tmp_path, "runs.png")
  wait(driver, lambda d: [e.text for e in d.find_elements(
      "css selector", "tr.run-row td.status")] == ["done"] * 3, 600)

  # Classification run page: curves, confusion matrix, command, log.
  driver.get(base + "#/run/" + cls_a)
  wait(driver, lambda d: d.find_elements(
      "css selector", "#chart-loss path.series"))
  wait(driver, lambda d: d.find_elements(
      "css selector", "#chart-eval path.series[data-name='accuracy']"))
  assert driver.find_elements("css selector", "#chart-lr path.series")
  assert driver.find_element("id", "run-status").text == "done"
  # Charts: the losses (train, smoothed over its faint raw line, and dev)
  # share their own axis, apart from the metrics; the best dev step is
  # marked; hovering shows the values at a step.
  assert driver.find_elements(
      "css selector", "#chart-loss path.series[data-name='eval-loss']")
  assert driver.find_elements(
      "css selector", "#chart-loss path.series.faint[data-name='loss-raw']")
  assert not driver.find_elements(
      "css selector", "#chart-eval path.series[data-name='loss']")
  mark = driver.find_element("css selector", "#chart-eval line.mark")
  assert driver.find_element(
      "css selector", "#chart-loss line.mark").get_attribute("data-x") == (
          mark.get_attribute("data-x"))
  assert "step %s " % mark.get_attribute("data-x") in driver.find_element(
      "id", "evaluated").text
  from selenium.webdriver.common.action_chains import ActionChains
  ActionChains(driver).move_to_element(
      driver.find_element("id", "chart-loss")).perform()
  hover = wait(driver, lambda d: d.find_element(
      "css selector", "#chart-loss g.hover[visibility='visible']"), 10)
  assert "train loss:" in hover.get_attribute("textContent")
  # Smoothing off (remembered): the raw loss alone.
  driver.execute_script(
      "const s = document.getElementById('smoothing'); s.value = 0;"
      "s.dispatchEvent(new Event('input'));")
  assert not driver.find_elements(
      "css selector", "#chart-loss path.series.faint")
  assert driver.execute_script(
      "return localStorage.getItem('studio.smoothing')") == "0"
  driver.execute_script(
      "const s = document.getElementById('smoothing'); s.value = 0.6;"
      "s.dispatchEvent(new Event('input'));"
      "localStorage.removeItem('studio.smoothing');")
  assert driver.find_elements("css selector", "#chart-loss path.series.faint")
  matrix = driver.find_element("id", "confusion")
  cells = [c.text for c in matrix.find_elements("css selector", "td")]
  assert sum(int(c) for c in cells if c.isdigit()) == 16, cells
  # Error analysis: clicking a confusion-matrix cell lists its dev examples
  # (from the run's dev_predictions.jsonl).
  wait(driver, lambda d: d.find_element("id", "errors").is_displayed())
  cell = [c for c in matrix.find_elements("css selector", "td.count")
          if int(c.get_attribute("data-count"))][0]
  cell.click()
  gold, predicted = (cell.get_attribute("data-gold"),
                     cell.get_attribute("data-predicted"))
  wait(driver, lambda d: len(d.find_elements(
      "css selector", "#dev-errors tbody tr")) == int(
          cell.get_attribute("data-count")))
  for tr in driver.find_elements("css selector", "#dev-errors tbody tr"):
    tds = [td.text for td in tr.find_elements("css selector", "td")]
    assert tds[:2] == [gold, predicted] and tds[3], tds
  assert driver.find_element("id", "errors-gold").get_attribute(
      "value") == gold
  # The final results say which checkpoint they come from; the step is not
  # listed as a metric.
  assert "step" in driver.find_element("id", "evaluated").text
  assert not driver.find_elements("css selector",
                                   "#results tr[data-name='global_step']")
  assert "--task=chnsenticorp" in driver.find_element(
      "id", "run-command").text
  assert "eval accuracy" in driver.find_element("id", "log-tail").get_attribute(
      "textContent")
  shot(driver, tmp_path, "run-classification.png")

  # Try it: a label and one probability bar per label. ChnSentiCorp is
  # single sentences: no second text box.
  assert not driver.find_element("id", "try-text-b").is_displayed()
  fill(driver, "try-text", "这家酒店的服务很好，房间也干净。")
  driver.find_element("id", "try").click()
  label = wait(driver, lambda d: d.find_element("id", "try-label").text, 240)
  assert label in ("0", "1")
  bars = driver.find_elements("css selector", "#try-result .prob-bar")
  assert len(bars) == 2
  shot(driver, tmp_path, "try-classification.png")

  # Batch prediction: a file of three texts, predicted and downloaded.
  texts = tmp_path / "texts.txt"
  texts.write_text("服务很好\n\n房间太小了\n还可以\n", encoding="utf-8")
  driver.find_element("id", "predict-file").send_keys(str(texts))
  driver.find_element("id", "predict-run").click()
  link = wait(driver, lambda d: d.find_element(
      "id", "predict-download").is_displayed() and d.find_element(
          "id", "predict-download"), 240)
  assert "3 predictions" in driver.find_element("id", "predict-note").text
  body = driver.execute_script(
      "return fetch(arguments[0]).then(r => r.text())",
      link.get_attribute("href"))
  rows = [json.loads(line) for line in body.splitlines()]
  assert [r["text"] for r in rows] == ["服务很好", "房间太小了", "还可以"]
  assert all(r["label"] in ("0", "1") for r in rows)

  # The try exported the model: its path shows without a reload. Export
  # gives that same version (the checkpoint has not changed), and the
  # SavedModel is on disk where the page says.
  tried = wait(driver, lambda d: d.find_element("id", "export-path").text,
               30).strip()
  driver.find_element("id", "export").click()
  wait(driver, lambda d: d.find_element("id", "export").is_enabled(), 240)
  path = driver.find_element("id", "export-path").text.strip()
  assert path == tried
  assert os.path.isfile(os.path.join(app.workspace.root, path,
                                     "saved_model.pb")), path
  assert len(os.listdir(os.path.dirname(os.path.join(
      app.workspace.root, path)))) == 1

  # Compare the two classification runs: learning_rate differs.
  driver.get(base + "#/runs")
  wait(driver, lambda d: len(d.find_elements("css selector",
                                             "input.compare-pick")) == 3)
  for pick in driver.find_elements("css selector", "input.compare-pick"):
    if pick.get_attribute("data-id") in (cls_a, cls_b):
      pick.click()
  driver.find_element("id", "compare-selected").click()
  wait(driver, lambda d: "#/compare/" in d.current_url)
  differ = wait(driver, lambda d: d.find_elements(
      "css selector", "#compare-settings tr.differ"))
  assert any("learning_rate" in row.text for row in differ)
  assert driver.find_elements("css selector",
                              "#compare-metrics tr[data-name='evaluated']")
  assert not driver.find_elements(
      "css selector", "#compare-metrics tr[data-name='global_step']")
  wait(driver, lambda d: len(d.find_elements(
      "css selector", "#compare-chart-loss path.series:not(.faint)")) == 2)
  assert driver.find_element("id", "compare-metrics").text
  shot(driver, tmp_path, "compare.png")

  switch_to_chinese_and_back(driver, base, cls_a, tmp_path)

  # Stop a running run from the runs list, resume it: it goes on from its
  # last checkpoint and finishes.
  long_run = start_run(driver, base, "classification", "data/chnsenticorp",
                       "long <b>run</b>",
                       {"num_train_epochs": 40, "train_batch_size": 8,
                        "max_seq_length": 64, "save_checkpoints_steps": 20,
                        "log_every_seconds": 1, "seed": 1})
  driver.get(base + "#/runs")
  row = "tr.run-row[data-id='%s'] " % long_run
  # Names are text, never HTML.
  link = wait(driver, lambda d: d.find_element("css selector",
                                               row + "a.run-link"))
  assert link.text == "long <b>run</b>"
  assert not driver.find_elements("css selector", row + "a.run-link b")

  def progressed(d):
    """At step 30 or later (the cell reads "30/160")."""
    step = d.find_element("css selector", row + "td.progress").text.split(
        "/")[0].strip()
    return step.isdigit() and int(step) >= 30
  wait(driver, progressed, 180)
  driver.find_element("css selector", row + "button.stop").click()
  wait(driver, lambda d: d.find_element(
      "css selector", row + "td.status").text == "stopped", 60)
  driver.find_element("css selector", row + "button.resume").click()
  wait(driver, lambda d: d.find_element(
      "css selector", row + "td.status").text == "done", 300)
  log = open(os.path.join(app.workspace.run_dir(long_run), "log.txt")).read()
  assert "Resuming from" in log, log[-3000:]

  # NER run page: per-type report; try a training sentence: entities.
  driver.get(base + "#/run/" + ner)
  wait(driver, lambda d: d.find_elements("css selector", "#per-type tr"))

  types = driver.find_element("id", "per-type").text
  assert "LOC" in types or "PER" in types or "ORG" in types
  # Its dev entity errors by type and kind; a count lists its errors.
  wait(driver, lambda d: d.find_element("id", "entity-errors").is_displayed())
  counts = wait(driver, lambda d: d.find_elements(
      "css selector", "#entity-error-counts tbody tr"))
  nonzero = [c for c in driver.find_elements(
      "css selector", "#entity-error-counts td.count") if c.text != "0"]
  if nonzero:
    kind = nonzero[0].get_attribute("data-kind")
    nonzero[0].click()
    wait(driver, lambda d: len(d.find_elements(
        "css selector", "#entity-error-list tr[data-kind='%s']" % kind)) ==
         min(50, int(nonzero[0].text)))
  else:
    assert "No entity errors" in counts[0].text
  # The tiny model learnt most of its 8 sentences (dev f1 about 0.7):
  # the first of them in which it finds an entity is shown.
  marks = []
  for block in _ner_sentences():
    sentence = "".join(line.split()[0] for line in block.splitlines())
    fill(driver, "try-text", sentence)
    driver.find_element("id", "try").click()
    wait(driver, lambda d, s=sentence: s[:4] in d.find_element(
        "id", "try-result").text, 240)
    marks = driver.find_elements("css selector", "#try-result mark.ent")
    if marks:
      break
  assert marks, "no entity found in any training sentence"
  assert all(m.get_attribute("data-type") in ("LOC", "PER", "ORG")
             for m in marks)
  assert all(m.text and m.text in sentence for m in marks)
  shot(driver, tmp_path, "try-ner.png")

  # A run stopped by a user error: the error line heads its page, with
  # what to change; no Resume (it would stop the same way), no Export.
  failing = start_run(driver, base, "classification", "data/chnsenticorp",
                      "too long", {"max_seq_length": 512, "seed": 1})
  wait(driver, lambda d: d.find_element("id", "run-status").text == "failed",
       180)
  cause = wait(driver, lambda d: d.find_element("id", "run-error").text)
  assert cause.startswith("error: ") and "max_position_embeddings" in cause
  assert "resuming would stop the same way" in cause
  assert not driver.find_elements("id", "resume")
  assert not driver.find_element("id", "export").is_enabled()
  assert failing == "r5"
  shot(driver, tmp_path, "run-failed.png")

  # Runs managed: rename and tag a run, archive it, find it again with the
  # filter; delete the failed run once its id is typed again.
  driver.get(base + "#/run/" + long_run)
  wait(driver, lambda d: d.find_element("id", "rename").get_attribute(
      "value") == "long <b>run</b>")
  assert driver.find_element("id", "tensorboard").text == (
      "tensorboard --logdir=runs/%s/output" % long_run)
  fill(driver, "rename", "long run, resumed")
  fill(driver, "tags", "resumed, keep")
  driver.find_element("id", "manage-save").click()
  wait(driver, lambda d: d.find_element("id", "run-title").text == (
      "long run, resumed"))
  driver.find_element("id", "archive").click()
  wait(driver, lambda d: d.find_element("id", "archive").text == "Unarchive")
  driver.get(base + "#/runs")
  row_ids = lambda d: [e.get_attribute("data-id") for e in d.find_elements(
      "css selector", "tr.run-row")]
  wait(driver, lambda d: len(row_ids(d)) == 4)
  assert long_run not in row_ids(driver)
  driver.find_element("id", "show-archived").click()
  wait(driver, lambda d: long_run in row_ids(d))
  assert [t.text for t in driver.find_elements(
      "css selector", row + "span.tag")] == ["resumed", "keep", "archived"]
  fill(driver, "runs-filter", "keep")
  wait(driver, lambda d: row_ids(d) == [long_run])
  shot(driver, tmp_path, "runs-managed.png")
  driver.execute_script(     # (clear() sends no input event)
      "const f = document.getElementById('runs-filter'); f.value = '';"
      "f.dispatchEvent(new Event('input'));")
  driver.get(base + "#/run/" + failing)
  wait(driver, lambda d: d.find_element("id", "delete").is_enabled())
  driver.find_element("id", "delete").click()
  fill(driver, "delete-id", failing)
  driver.find_element("id", "delete-confirm").click()
  wait(driver, lambda d: d.current_url.endswith("#/runs"))
  wait(driver, lambda d: failing not in row_ids(d) and len(row_ids(d)) == 4)
  assert not os.path.exists(app.workspace.run_dir(failing))

  severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
  assert not severe, severe
