"""The studio's HTTP server: the page, and a JSON API over the workspace.

  GET  /                      the page (static/index.html)
  GET  /static/i18n.js|app.js|style.css
  GET  /api/options           kinds, fields (defaults), data and model
                              folders, teacher runs, the form's preselection
  POST /api/command           the command line a request would run
  GET  /api/runs              every run's status, progress, ETA, metric
  POST /api/runs              start (queue) a run
  GET  /api/runs/<id>         curves, report, command, settings, log tail
  GET  /api/runs/<id>/predictions?gold=&predicted=&offset=&limit=
                              dev predictions (misclassified, a cell's)
  GET  /api/runs/<id>/entity_errors?type=&kind=&offset=&limit=
                              an NER run's dev entity errors
  POST /api/runs/<id>/stop | resume | export | try
  POST /api/runs/<id>/edit    {name, tags, archived}: rename, tag, archive
  POST /api/runs/<id>/delete  {confirm: "<id>"}: an ended run's folder
  POST /api/runs/<id>/predict_file   a file of texts (the raw body), one a
                              line: predicted through the try-it server
  GET  /api/runs/<id>/predictions/<n>.jsonl   that file's answers
  GET  /api/compare?ids=r1,r2 settings diff, results, curves
  GET  /api/data/preview?folder=data/x&kind=classification&model=models/m
                              rows, columns, labels, lengths, problems
  POST /api/upload?folder=NAME&file=train.tsv[&replace=1]
                              a split file (the raw body) into data/NAME/

Security rules (tests/test_studio.py checks each):
  - Binds 127.0.0.1 unless told otherwise; another host needs a token
    (studio.py refuses to start without one).
  - With a token, every request carries it: the `studio_token` cookie
    (set by opening /?token=...), or `Authorization: Bearer ...`. Else 401.
  - Every POST carries the header X-Studio-Csrf with the secret the page
    got inside index.html (a new one each start), and a JSON body: a page
    on another site can read neither, so it cannot start runs. Else 403.
  - Without a token, the Host header must be 127.0.0.1 or localhost: a
    DNS-rebinding page is refused (403).
  - Bodies over MAX_BODY bytes are refused (413) before they are read;
    an upload's limit is workspace.MAX_UPLOAD_BYTES.
  - A JSON body holds only the fields its endpoint takes, each of its
    JSON type or null (BODY_FIELDS); anything else is a 400 naming it.
  - Every refusal closes its connection, and so does an answer given
    without reading the whole body: what followed on the connection is
    never read as a request (bert_toolkit/serving/http_framing.py, with
    the header and body timeouts).
  - One studio per workspace: a second one stops with an error before it
    touches anything (workspace.Workspace.lock).
  - Paths in requests stay inside the workspace (workspace.py); flags are
    only the form's fields, typed (commands.py); scripts are only the
    project's (commands.KINDS).
Errors are {"error": "one line"} with a 4xx status (5xx for a tool that
failed), and the server goes on. The line is Chinese when the request's
X-Studio-Lang header says zh and the studio wrote it (i18n.py), else
English.
"""

import hmac
import http.cookies
import json
import logging
import os
import re
import secrets
import types
import urllib.parse
from http import server as http_server

from bert_toolkit.serving import http_framing

from bert_toolkit.studio import commands
from bert_toolkit.studio import i18n
from bert_toolkit.studio import jobs as jobs_lib
from bert_toolkit.studio import trying
from bert_toolkit.studio import views
from bert_toolkit.studio import workspace as workspace_lib

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "static")
STATIC_FILES = types.MappingProxyType({
    "/static/i18n.js": ("i18n.js", "text/javascript"),
    "/static/app.js": ("app.js", "text/javascript"),
    "/static/style.css": ("style.css", "text/css")})
MAX_BODY = 64 * 1024
_RUN_PATH = re.compile(
    r"^/api/runs/([^/]+)(?:/(stop|resume|export|try|edit|delete))?$")
_RUN_GET = re.compile(r"^/api/runs/([^/]+)/(predictions|entity_errors)$")
_PREDICT_FILE = re.compile(r"^/api/runs/([^/]+)/predict_file$")
_PREDICTIONS_FILE = re.compile(r"^/api/runs/([^/]+)/predictions/([^/]+)$")


# The JSON object each POST endpoint takes: its fields and their JSON
# types (every field may also be null or absent; what is required is the
# endpoint's own rule). Any other field or type is a 400 naming it.
_RUN_FIELDS = (("kind", str), ("data", str), ("model", str),
               ("teacher", str), ("values", dict))
BODY_FIELDS = types.MappingProxyType({
    "command": _RUN_FIELDS,
    "runs": _RUN_FIELDS + (("name", str),),
    "stop": (), "resume": (), "export": (),
    "try": (("text", str), ("text_b", str)),
    "edit": (("name", str), ("tags", list), ("archived", bool)),
    "delete": (("confirm", str),)})
_JSON_TYPES = types.MappingProxyType({
    str: i18n.Text("a string"), dict: i18n.Text("a JSON object"),
    list: i18n.Text("a list"), bool: i18n.Text("true or false"),
    int: i18n.Text("a number"), float: i18n.Text("a number"),
    type(None): i18n.Text("null")})


def check_body(endpoint, body):
  """HttpError 400 unless every field of the JSON object `body` is one
  BODY_FIELDS[endpoint] names, of its type (or null)."""
  allowed = dict(BODY_FIELDS[endpoint])
  for name in sorted(body):
    if name not in allowed:
      raise HttpError(400, "unknown field %r: this request takes %s",
                      name[:40], ", ".join(allowed) or i18n.Text(
                          "no fields ({})"))
    value = body[name]
    if value is not None and (type(value) is not allowed[name]):
      raise HttpError(400, "%s: must be %s, got %s", name,
                      _JSON_TYPES[allowed[name]],
                      _JSON_TYPES.get(type(value), type(value).__name__))


def _query_value(query, key):
  """The first value of `key` in a parsed query string, or None."""
  return query[key][0] if key in query else None


class HttpError(i18n.Translated, Exception):
  """A refusal with its HTTP status: HttpError(status, template, *args)
  (i18n.Translated)."""

  def __init__(self, status, template, *args):
    i18n.Translated.__init__(self, template, *args)
    self.status = status


class Studio(object):
  """The studio's state: workspace, jobs, the model server, secrets."""

  def __init__(self, workspace_dir, scripts_dir=None, token=None,
               max_running=1, python=None, kill_after=jobs_lib.KILL_AFTER):
    self.workspace = workspace_lib.Workspace(workspace_dir)
    # First the workspace's lock: a second studio on the workspace stops
    # here (WorkspaceBusy), before it settles jobs or stops the try-it
    # server, which are the first studio's.
    self.lock = self.workspace.lock()
    try:
      self.token = token
      self.csrf = secrets.token_urlsafe(24)
      self.jobs = jobs_lib.Jobs(self.workspace, scripts_dir, python,
                                max_running, kill_after=kill_after)
      self.tryer = trying.Tryer(self.workspace, scripts_dir, python)
      self.summaries = views.SummaryCache()
    except BaseException:
      self.lock.close()
      raise

  def page(self):
    with open(os.path.join(STATIC_DIR, "index.html"), encoding="utf-8") as f:
      return f.read().replace("{{CSRF}}", self.csrf)

  # ------------------------------------------------------------ the API ---

  def options(self):
    data = self.workspace.data_folders()
    # A finished run of a kind that does not serve (pre-training) is a
    # model to start other runs from.
    models = self.workspace.model_folders() + [
        {"name": "%s · %s" % (j["id"], j["name"]), "path": j["output_dir"]}
        for j in self.jobs.all() if j["status"] == "done" and
        not commands.KINDS[j["kind"]].serves]
    teachers = [{"id": j["id"], "name": j["name"], "path": j["output_dir"]}
                for j in self.jobs.all()
                if j["status"] == "done" and commands.KINDS[j["kind"]].tasks
                and not commands.KINDS[j["kind"]].teacher]
    return {"kinds": [{"name": k.name, "script": " ".join(k.command),
                       "title": k.title,
                       "title_zh": i18n.TITLES_ZH.get(k.title),
                       "teacher": k.teacher}
                      for k in commands.KINDS.values()],
            "data": data, "models": models, "teachers": teachers,
            "defaults": {"kind": next(iter(commands.KINDS)),
                         "data": _prefer(data, "sst2"),
                         "model": _prefer(models, "minilm")},
            "fields": commands.describe()}

  def command(self, body):
    command = commands.build(body, self.workspace)
    argv = command.argv("runs/%s/output" % self.jobs.next_id())
    return {"argv": argv, "command": commands.display(argv),
            "guessed": command.guessed}

  def create(self, body):
    command = commands.build(body, self.workspace)
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or
                             len(name) > jobs_lib.MAX_NAME):
      raise commands.RequestError("name: a string of at most %d characters",
                                  jobs_lib.MAX_NAME)
    request = {k: body.get(k) for k in ("kind", "data", "model", "teacher",
                                         "values")}
    name = (name or "").strip() or " ".join(
        os.path.basename(p) for p in (body.get("data"), body.get("model")
                                       or body.get("teacher")) if p)
    job = self.jobs.create(command, name or None, request)
    return {"id": job["id"]}

  def job(self, run_id):
    job = self.jobs.get(run_id) if workspace_lib.RUN_ID.match(run_id) \
        else None
    if job is None:
      raise HttpError(404, "no run %r in this workspace", run_id[:40])
    return job

  def runs(self):
    return {"runs": self.summaries.summaries(
        self.workspace, list(reversed(self.jobs.all())))}

  def compare(self, query):
    ids = [i for i in query.get("ids", [""])[0].split(",") if i]
    if not 2 <= len(ids) <= 8:
      raise HttpError(400, "ids: name 2 to 8 runs, e.g. ?ids=r1,r2")
    return views.compare(self.workspace, [self.job(i) for i in ids])

  def predictions(self, run_id, what, query):
    """A run's dev predictions (classification) or entity errors (NER)."""
    job = self.job(run_id)
    try:
      offset = int(_query_value(query, "offset") or 0)
      limit = int(_query_value(query, "limit") or 50)
    except ValueError:
      raise HttpError(400, "offset and limit: whole numbers")
    if what == "entity_errors":
      return views.entity_errors(
          self.workspace, job, _query_value(query, "type"),
          _query_value(query, "kind"), offset, limit)
    return views.dev_predictions(
        self.workspace, job, _query_value(query, "gold"),
        _query_value(query, "predicted"), offset, limit)

  def post_run(self, run_id, action, body):
    job = self.job(run_id)
    if action == "stop":
      return views.summary(self.workspace, self.jobs.stop(run_id))
    if action == "resume":
      return views.summary(self.workspace, self.jobs.resume(run_id))
    if action == "edit":
      return views.summary(self.workspace, self.jobs.edit(
          run_id, body.get("name"), body.get("tags"), body.get("archived")))
    if action == "delete":
      with self.tryer.lock:
        if self.tryer.server and self.tryer.server[0] == run_id:
          self.tryer.close()          # its try-it server reads the folder
        self.jobs.delete(run_id, body.get("confirm"))
      self.summaries.entries.pop(run_id, None)
      return {"deleted": run_id}
    if action == "export":
      if job["status"] == "failed":
        raise HttpError(409, "%s failed: a failed run is not exported "
                        "(resume it, or start it again with what its error "
                        "names changed)", run_id)
      with self.tryer.lock:
        return {"path": self.tryer.current_export(job)}
    return self.tryer.ask(job, body.get("text"), body.get("text_b"))

  def close(self):
    try:
      self.jobs.close()
      self.tryer.close()
    finally:
      self.lock.close()


def _prefer(folders, word):
  """The first folder whose name holds `word`, else the first; or None."""
  for folder in folders:
    if word in folder["name"].lower():
      return folder["path"]
  return folders[0]["path"] if folders else None


class Handler(http_framing.FramedHandler):
  """One request. `self.server.studio` is the Studio. Framing, timeouts and
  closing after a refusal: bert_toolkit/serving/http_framing.py."""

  server_version = "BertStudio/1"
  max_body_bytes = MAX_BODY

  def log_message(self, fmt, *args):
    logging.debug("%s " + fmt, self.address_string(), *args)

  def _send(self, status, body, content_type="application/json",
            headers=()):
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    self.send_response(status)
    self.send_header("Content-Type", content_type + "; charset=utf-8")
    self.send_header("Content-Length", str(len(data)))
    self.send_header("Cache-Control", "no-store")
    self.send_header("X-Content-Type-Options", "nosniff")
    self.send_header("X-Frame-Options", "DENY")
    self.send_header("Content-Security-Policy",
                     "default-src 'self'; style-src 'self'; "
                     "img-src 'self' data:; frame-ancestors 'none'")
    for key, value in headers:
      self.send_header(key, value)
    self.end_headers()
    if self.command != "HEAD":
      self.wfile.write(data)

  def _json(self, status, obj):
    self._send(status, json.dumps(obj, ensure_ascii=False))

  def language(self):
    """The page's language (the X-Studio-Lang header), or None."""
    headers = getattr(self, "headers", None)
    return headers.get(i18n.LANGUAGE_HEADER) if headers else None

  def refuse(self, status, message):
    """The error reply; `message` (text or an exception) in the page's
    language where the studio wrote it (i18n.translate)."""
    self._json(status, {"error": i18n.translate(message, self.language())})

  def body_limit(self):
    path = urllib.parse.urlsplit(self.path).path
    if path == "/api/upload":
      return workspace_lib.MAX_UPLOAD_BYTES
    if _PREDICT_FILE.match(path):
      return trying.MAX_FILE_BYTES
    return MAX_BODY

  def too_large(self, length):
    return i18n.Text("request body of %d bytes: the limit is %d", length,
                     self.body_limit())

  def send_error(self, code, message=None, explain=None):
    """http.server's own errors (a garbage request line, an unknown verb,
    oversized headers) as JSON too."""
    self.close_connection = True
    if not hasattr(self, "wfile"):
      return super(Handler, self).send_error(code, message, explain)
    self.refuse(code, message or "HTTP %d" % code)

  def _check_access(self):
    studio = self.server.studio
    if not studio.token:
      # Without a token only this machine's own names are served (a page
      # whose DNS name is rebound to 127.0.0.1 sends its own name).
      host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
      if host not in ("127.0.0.1", "localhost", "::1"):
        raise HttpError(403, "Host %r is not this studio's address", host)
      return
    given = None
    auth = self.headers.get("Authorization") or ""
    if auth.startswith("Bearer "):
      given = auth[len("Bearer "):].strip()
    else:
      cookie = http.cookies.SimpleCookie()
      try:
        cookie.load(self.headers.get("Cookie") or "")
      except http.cookies.CookieError:
        pass
      if "studio_token" in cookie:
        given = cookie["studio_token"].value
    if given is None or not hmac.compare_digest(given.encode("utf-8"),
                                                studio.token.encode("utf-8")):
      raise HttpError(401, "a token is required: open the address studio.py "
                      "printed (it ends in ?token=...)")

  def _check_csrf(self):
    given = self.headers.get("X-Studio-Csrf") or ""
    if not hmac.compare_digest(given.encode("utf-8"),
                               self.server.studio.csrf.encode("utf-8")):
      raise HttpError(403, "missing or wrong X-Studio-Csrf header: requests "
                      "that change something come from the studio's page")

  def _body(self, endpoint):
    """The request's JSON object, its fields checked against
    BODY_FIELDS[endpoint]."""
    raw = self.read_body() or b"{}"
    try:
      body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
      raise HttpError(400, "the body is not JSON")
    if not isinstance(body, dict):
      raise HttpError(400, "the body must be a JSON object")
    check_body(endpoint, body)
    return body

  def _dispatch(self, method):
    studio = self.server.studio
    url = urllib.parse.urlsplit(self.path)
    query = urllib.parse.parse_qs(url.query)
    path = url.path
    if method == "GET" and path == "/" and studio.token and "token" in query:
      # The address studio.py printed: keep the token in a cookie and
      # drop it from the address bar.
      if hmac.compare_digest(query["token"][0].encode("utf-8"),
                             studio.token.encode("utf-8")):
        self._send(303, "", headers=(
            ("Location", "/"),
            ("Set-Cookie", "studio_token=%s; HttpOnly; SameSite=Strict; "
             "Path=/" % studio.token)))
        return
    self._check_access()
    if method == "GET":
      if path == "/":
        self._send(200, studio.page(), "text/html")
        return
      if path in STATIC_FILES:
        name, content_type = STATIC_FILES[path]
        with open(os.path.join(STATIC_DIR, name), "rb") as f:
          self._send(200, f.read(), content_type)
        return
      if path == "/api/options":
        return self._json(200, studio.options())
      if path == "/api/runs":
        return self._json(200, studio.runs())
      if path == "/api/compare":
        return self._json(200, studio.compare(query))
      if path == "/api/data/preview":
        return self._json(200, views.data_preview(
            studio.workspace, _query_value(query, "folder"),
            _query_value(query, "kind"), _query_value(query, "model")))
      match = _RUN_PATH.match(path)
      if match and not match.group(2):
        job = studio.job(match.group(1))
        return self._json(200, views.detail(studio.workspace, job))
      match = _PREDICTIONS_FILE.match(path)
      if match:
        job = studio.job(match.group(1))
        if not trying.PREDICTIONS_FILE.match(match.group(2)):
          raise HttpError(404, "no predictions file %r", match.group(2)[:40])
        file_path = os.path.join(studio.workspace.run_dir(job["id"]),
                                 "predictions", match.group(2))
        if not os.path.isfile(file_path) or os.path.islink(file_path):
          raise HttpError(404, "no predictions file %s", match.group(2))
        with open(file_path, "rb") as f:
          self._send(200, f.read(), "application/x-ndjson", headers=((
              "Content-Disposition", 'attachment; filename="%s-%s"' % (
                  job["id"], match.group(2))),))
        return
      match = _RUN_GET.match(path)
      if match:
        return self._json(200, studio.predictions(match.group(1),
                                                  match.group(2), query))
      raise HttpError(404, "no such page: %s", path[:100])
    self._check_csrf()
    if path == "/api/upload":
      saved = studio.workspace.save_upload(
          _query_value(query, "folder"), _query_value(query, "file"),
          self.read_body(), replace=_query_value(query, "replace") == "1")
      return self._json(200, {"path": saved})
    match = _PREDICT_FILE.match(path)
    if match:
      job = studio.job(match.group(1))
      if not views.has_checkpoint(studio.workspace, job):
        raise HttpError(400, "%s has no checkpoint to predict with yet",
                        job["id"])
      return self._json(200, studio.tryer.predict_file(job,
                                                       self.read_body()))
    if path == "/api/command":
      return self._json(200, studio.command(self._body("command")))
    if path == "/api/runs":
      return self._json(200, studio.create(self._body("runs")))
    match = _RUN_PATH.match(path)
    if match and match.group(2):
      body = self._body(match.group(2))
      return self._json(200, studio.post_run(match.group(1), match.group(2),
                                             body))
    raise HttpError(404, "no such action: %s", path[:100])

  def _handle(self, method):
    try:
      self._dispatch(method)
    except (HttpError, http_framing.BodyError) as e:
      self.refuse(e.status, e)
    except (jobs_lib.JobBusy, workspace_lib.FileExists, FileExistsError) as e:
      self.refuse(409, e)
    except (commands.RequestError, workspace_lib.PathError, ValueError) as e:
      self.refuse(400, e)
    except KeyError as e:
      self.refuse(404, i18n.Text("no run %s", e))
    except trying.TryError as e:
      self.refuse(500, e)
    except Exception as e:  # pylint: disable=broad-except
      logging.exception("studio request %s", self.path)
      self._json(500, {"error": "%s: %s" % (type(e).__name__, e)})

  def do_GET(self):  # pylint: disable=invalid-name
    self._handle("GET")

  def do_HEAD(self):  # pylint: disable=invalid-name
    self._handle("GET")

  def do_POST(self):  # pylint: disable=invalid-name
    self._handle("POST")


class StudioServer(http_server.ThreadingHTTPServer):
  daemon_threads = True

  def __init__(self, address, studio,
               header_timeout=http_framing.HEADER_TIMEOUT,
               body_timeout=http_framing.BODY_TIMEOUT):
    self.studio = studio
    self.header_timeout = header_timeout
    self.body_timeout = body_timeout
    http_server.ThreadingHTTPServer.__init__(self, address, Handler)


def make_server(studio, host="127.0.0.1", port=8600,
                header_timeout=http_framing.HEADER_TIMEOUT,
                body_timeout=http_framing.BODY_TIMEOUT):
  """A StudioServer bound to host:port (port 0: a free one); its job
  thread is started. Call serve_forever(), then shutdown() and
  studio.close(). header_timeout / body_timeout: seconds a request's
  line and headers, and its body, may take to arrive.

  Raises:
    ValueError: a bad port, or another host without a token; OSError: the
      address cannot be bound.
  """
  http_framing.check_port(port)
  if host not in ("127.0.0.1", "localhost", "::1") and not studio.token:
    raise ValueError("--host=%s opens the studio to the network: give "
                     "--token as well" % host)
  httpd = StudioServer((host, port), studio, header_timeout, body_timeout)
  studio.jobs.start()
  return httpd
