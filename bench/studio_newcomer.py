"""The newcomer's path through the studio, measured in a real browser.

With --launch it starts the studio itself, as a newcomer does (`bash
studio.sh` in a fresh clone: install, MiniLM converted into models/minilm,
the SST-2 sample in data/sst2), and times it until the page answers;
without, it uses a studio already running at --url. It opens the new-run
page, changes nothing, presses Start, times the first dev point on the
run's Evaluation chart and the run's end, tries two sentences, and writes
what it saw:

  git clone -q . /tmp/newcomer && cd /tmp/newcomer
  $REPO/.venv/bin/python bench/studio_newcomer.py --url=http://127.0.0.1:8620/ \
      --launch="STUDIO_WORKSPACE=/tmp/sws bash studio.sh --port=8620" \
      --out=bench/results/studio_newcomer.json --screenshots=docs/studio
"""

import argparse
import json
import os
import signal
import subprocess
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--url", required=True)
  parser.add_argument("--out", required=True)
  parser.add_argument("--screenshots", default=None)
  parser.add_argument("--timeout", type=float, default=7200)
  parser.add_argument("--launch", default=None,
                      help="shell command that starts the studio (in the "
                      "current directory); its output goes to launch.log")
  args = parser.parse_args()
  launched = None
  if args.launch:
    began = time.time()
    studio = subprocess.Popen(args.launch, shell=True,
                              stdout=open("launch.log", "w"),
                              stderr=subprocess.STDOUT,
                              start_new_session=True)
    while True:
      if studio.poll() is not None:
        raise SystemExit("error: the studio command ended (launch.log)")
      try:
        urllib.request.urlopen(args.url, timeout=5).read()
        break
      except OSError:
        time.sleep(0.5)
    launched = round(time.time() - began, 1)
  options = webdriver.ChromeOptions()
  options.binary_location = "/usr/bin/chromium"
  for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--window-size=1280,1000"):
    options.add_argument(arg)
  driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                            options=options)
  wait = lambda cond, t=120: WebDriverWait(driver, t, 0.1).until(cond)
  shot = lambda name: args.screenshots and driver.save_screenshot(
      os.path.join(args.screenshots, name))
  try:
    driver.get(args.url + "#/new")
    wait(lambda d: d.find_element("id", "command").text.startswith("python"))
    command = driver.find_element("id", "command").text
    started = time.time()
    driver.find_element("id", "start").click()
    wait(lambda d: "#/run/r" in d.current_url)
    run_id = driver.current_url.rsplit("/", 1)[1]
    first_eval = None
    while time.time() - started < args.timeout:
      if first_eval is None and driver.find_elements(
          "css selector", "#chart-eval path.series"):
        first_eval = round(time.time() - started, 1)
      if driver.find_element("id", "run-status").text in (
          "done", "failed", "stopped"):
        break
      time.sleep(0.5)
    seconds = time.time() - started
    status = driver.find_element("id", "run-status").text
    wait(lambda d: d.find_elements("css selector", "#confusion td"))
    shot("newcomer-run.png")
    tries = {}
    for text in ("a gorgeous, witty, seductive movie.",
                 "the plot is a tired retread and the acting is wooden."):
      driver.find_element("id", "try-text").clear()
      driver.find_element("id", "try-text").send_keys(text)
      # The previous answer goes first, so the label read is the new one.
      driver.execute_script(
          "var r = document.getElementById('try-result');"
          "while (r && r.firstChild) r.removeChild(r.firstChild);")
      before = time.time()
      driver.find_element("id", "try").click()
      wait(lambda d: d.find_elements("id", "try-label") and
           d.find_element("id", "try-label").text, 300)
      tries[text] = {"label": driver.find_element("id", "try-label").text,
                     "seconds": round(time.time() - before, 1)}
    shot("newcomer-try.png")
    detail = driver.execute_script(
        "return fetch('/api/runs/%s').then(r => r.json())" % run_id)
    result = {"command": command, "run": run_id, "status": status,
              "seconds_studio_sh_to_page": launched,
              "seconds_start_to_first_eval_point": first_eval,
              "seconds_start_to_done": round(seconds, 1),
              "dev": {k: detail["results"][k] for k in ("accuracy",
                                                       "macro_f1")},
              "total_steps": detail["total_steps"], "tries": tries}
  finally:
    driver.quit()
    if args.launch:        # the studio, and the try-it server it started
      os.killpg(studio.pid, signal.SIGTERM)
  with open(args.out, "w") as f:
    json.dump(result, f, indent=2)
  print(json.dumps(result, indent=2))


if __name__ == "__main__":
  main()
