"""A small HTTP server over a Predictor, speaking TF Serving's REST API.

  GET  /v1/models/<name>                  version status (as TF Serving)
  GET  /v1/models/<name>/metadata         signatures and serving config
  POST /v1/models/<name>:predict          {"instances": [...]}
       (also /v1/models/<name>/versions/<v>:predict)

Instances, all of one kind per request:
  tensors  {"input_ids": [...], "input_mask": [...], "segment_ids": [...]}
           (int lists of equal length; rows of a request may differ in
           length, they are padded here); outputs per instance, as TF
           Serving's row format: {"probabilities": [...], "label_id": 1,
           "label": "pos"}.
  text     {"text": "...", "text_b": "..."} (text_b optional): the
           predictor's answer, e.g. {"label": ..., "label_id": ...,
           "probabilities": {label: p}}.
  example  {"b64": "<base64 serialized tf.Example>"} with
           "signature_name": "from_examples".
  raw text with "signature_name": "text" (an export that has it): "a
           text" (or {"text": ...}), {"text": ..., "text_b": ...} for a pair
           task's export; tokenized in the graph, outputs per instance as
           TF Serving gives them for that signature (as tensors, above).

Every bad request gets a 4xx with {"error": "<what and the fix>"} and its
connection is closed (bert_toolkit/serving/http_framing.py: framing,
header and body timeouts); the server keeps serving. A text whose
tokenization is empty (only spaces, control or zero-width characters) is
refused like an empty one. With max_batch_size > 0 the rows of concurrent
requests are gathered into shared batches (bert_toolkit/serving/batching.py). Limits:
request body bytes (413), instances per request, tokens per instance. Binds
127.0.0.1 unless told otherwise.
"""

import base64
import binascii
import json
import logging
import os
import re
import threading
import time
from http import server as http_server

import numpy as np

from bert_toolkit.serving import batching
from bert_toolkit.serving import http_framing
from bert_toolkit.serving import signatures
from bert_toolkit.serving import predictor as predictor_lib

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_INSTANCES = 128

_PREDICT = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")
_STATUS = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?(/metadata)?/?$")

log = logging.getLogger("bert_toolkit.serving.server")


class RequestError(Exception):
  """A client error: HTTP status and a message that says the fix."""

  def __init__(self, status, message):
    super(RequestError, self).__init__(message)
    self.status = status


def _int_list(value, what, low, high):
  """Checks a JSON list of ints in [low, high); returns it."""
  if not isinstance(value, list) or not value:
    raise RequestError(400, "%s must be a non-empty list of integers, got %s"
                       % (what, type(value).__name__ if not isinstance(
                           value, list) else "an empty list"))
  for v in value:
    if isinstance(v, bool) or not isinstance(v, int):
      raise RequestError(400, "%s must hold integers only, found %r" %
                         (what, v))
    if not low <= v < high:
      raise RequestError(400, "%s value %d is out of range [%d, %d)" %
                         (what, v, low, high))
  return value


class Service(object):
  """Request parsing and answering, independent of the HTTP plumbing."""

  def __init__(self, predictor, model_name, max_instances, batcher=None):
    self.predictor = predictor
    # Rows of concurrent requests share batches when a batcher is given.
    self.batcher = batcher
    self.run_rows = batcher.run_rows if batcher else predictor.run_rows
    self.model_name = model_name
    self.max_instances = max_instances
    config = predictor.config
    leaf = os.path.basename(os.path.normpath(predictor.export_dir))
    self.version = int(leaf) if leaf.isdigit() else 1
    self.limits = {
        "input_ids": config["vocab_size"],
        "input_mask": 2,
        "segment_ids": config["type_vocab_size"],
    }
    self.max_tokens = config["max_position_embeddings"]
    # The `text` signature's inputs (None: the export has none).
    self.text_inputs = (config.get("text_signature") or {}).get("inputs")
    self.signature_names = [signatures.DEFAULT_SIGNATURE,
                            signatures.EXAMPLES_SIGNATURE] + (
                                [signatures.TEXT_SIGNATURE]
                                if self.text_inputs else [])

  def _check_name(self, name, version):
    if name != self.model_name:
      raise RequestError(404, "model %r not found; this server serves %r" %
                         (name, self.model_name))
    if version is not None and int(version) != self.version:
      raise RequestError(404, "version %s of %r not found; this server "
                         "serves version %d" % (version, name, self.version))

  def status(self, path):
    """GET: the answer dict, or RequestError."""
    match = _STATUS.match(path)
    if not match:
      raise RequestError(404, "no such endpoint %r: use GET /v1/models/%s or "
                         "POST /v1/models/%s:predict" %
                         (path, self.model_name, self.model_name))
    self._check_name(match.group(1), match.group(2))
    if match.group(3):
      return {"model_spec": {"name": self.model_name,
                             "version": str(self.version)},
              "metadata": {"signature_names": self.signature_names,
                           "outputs": self.predictor.output_names,
                           "serving_config": self.predictor.config}}
    return {"model_version_status": [{
        "version": str(self.version), "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""}}]}

  def predict(self, path, body):
    """POST: body bytes -> answer dict, or RequestError."""
    match = _PREDICT.match(path)
    if not match:
      raise RequestError(404, "no such endpoint %r: POST to "
                         "/v1/models/%s:predict" % (path, self.model_name))
    self._check_name(match.group(1), match.group(2))
    try:
      request = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as e:
      raise RequestError(400, "request body is not UTF-8: %s" % e)
    except ValueError as e:
      raise RequestError(400, "malformed JSON: %s" % e)
    except RecursionError:
      raise RequestError(400, "malformed JSON: nested too deeply")
    if not isinstance(request, dict):
      raise RequestError(400, "the request must be a JSON object "
                         "{\"instances\": [...]}, got %s" %
                         type(request).__name__)
    if "instances" not in request:
      if "inputs" in request:
        raise RequestError(400, "the columnar \"inputs\" format is not "
                           "supported here: send {\"instances\": [...]}")
      raise RequestError(400, "missing \"instances\": send "
                         "{\"instances\": [...]}")
    unknown = sorted(set(request) - {"instances", "signature_name"})
    if unknown:
      raise RequestError(400, "unknown request fields %s: only "
                         "\"instances\" and \"signature_name\"" % unknown)
    instances = request["instances"]
    if not isinstance(instances, list):
      raise RequestError(400, "\"instances\" must be a list, got %s" %
                         type(instances).__name__)
    if not instances:
      raise RequestError(400, "\"instances\" is empty: send at least one")
    if len(instances) > self.max_instances:
      raise RequestError(413, "%d instances: at most %d per request "
                         "(server flag --max_instances)" %
                         (len(instances), self.max_instances))
    signature = request.get("signature_name", signatures.DEFAULT_SIGNATURE)
    if signature == signatures.EXAMPLES_SIGNATURE:
      return {"predictions": self._examples(instances)}
    if signature == signatures.TEXT_SIGNATURE and self.text_inputs:
      return {"predictions": self._text_signature(instances)}
    if signature != signatures.DEFAULT_SIGNATURE:
      raise RequestError(400, "unknown signature_name %r: use %s" % (
          signature, " or ".join(repr(s) for s in self.signature_names)))
    for i, item in enumerate(instances):
      if not isinstance(item, dict):
        raise RequestError(400, "instances[%d] must be an object "
                           "({\"text\": ...} or {\"input_ids\": [...], "
                           "...}), got %s" % (i, type(item).__name__))
    first = self._fields()[0]
    if all(first in item for item in instances):
      return {"predictions": self._texts(instances)}
    if any(first in item for item in instances):
      raise RequestError(400, "mixed instances: either all {\"%s\": ...} "
                         "or all tensors {\"input_ids\": ...}" % first)
    return {"predictions": self._tensors(instances)}

  def _fields(self):
    """The names of a text item's two texts: the task codec's (e.g.
    question and context), text and text_b for a predictor without one."""
    codec = getattr(self.predictor, "codec", None)
    return tuple(getattr(codec, "fields", None) or ("text", "text_b"))

  def _texts(self, instances):
    pairs = []
    name_a, name_b = self._fields()
    for i, item in enumerate(instances):
      unknown = sorted(set(item) - {name_a, name_b})
      if unknown:
        raise RequestError(400, "instances[%d]: unknown fields %s (text "
                           "instances take \"%s\" and \"%s\")" %
                           (i, unknown, name_a, name_b))
      text, text_b = item[name_a], item.get(name_b)
      if not isinstance(text, str) or not text.strip():
        raise RequestError(400, "instances[%d].%s must be a non-empty "
                           "string" % (i, name_a))
      if text_b is not None and not isinstance(text_b, str):
        raise RequestError(400, "instances[%d].%s must be a string" %
                           (i, name_b))
      for name, value in ((name_a, text), (name_b, text_b)):
        if value is not None and not self.predictor.tokenizer.tokenize(value):
          raise RequestError(400, "instances[%d].%s has no tokens (only "
                             "spaces, control or zero-width characters): "
                             "send some text" % (i, name))
      pairs.append((text, text_b))
    return self.predictor.predict(pairs, self.run_rows)

  def _tensors(self, instances):
    rows = []
    for i, item in enumerate(instances):
      missing = [n for n in signatures.INPUT_NAMES if n not in item]
      if missing:
        raise RequestError(400, "instances[%d] lacks %s: tensor instances "
                           "need input_ids, input_mask and segment_ids (or "
                           "send {\"text\": ...})" % (i, ", ".join(missing)))
      unknown = sorted(set(item) - set(signatures.INPUT_NAMES))
      if unknown:
        raise RequestError(400, "instances[%d]: unknown fields %s" %
                           (i, unknown))
      row = {n: _int_list(item[n], "instances[%d].%s" % (i, n), 0,
                          self.limits[n])
             for n in signatures.INPUT_NAMES}
      lengths = {len(v) for v in row.values()}
      if len(lengths) != 1:
        raise RequestError(400, "instances[%d]: input_ids, input_mask and "
                           "segment_ids must have the same length" % i)
      if lengths.pop() > self.max_tokens:
        raise RequestError(400, "instances[%d]: %d tokens, the model takes "
                           "at most %d" % (i, len(row["input_ids"]),
                                           self.max_tokens))
      rows.append(row)
    return [_jsonable(out) for out in self.run_rows(rows)]

  def _text_signature(self, instances):
    """The `text` signature, as TF Serving's row format takes it: a plain
    string per instance when the signature has one input, else objects
    naming every input; a value is a string or {"b64": ...}."""
    names = self.text_inputs
    columns = {name: [] for name in names}
    for i, item in enumerate(instances):
      if not isinstance(item, dict) or set(item) == {"b64"}:
        if len(names) > 1:
          raise RequestError(400, "instances[%d]: the %r signature takes "
                             "%s: send objects {%s}" % (
                                 i, signatures.TEXT_SIGNATURE,
                                 " and ".join(names), ", ".join(
                                     "\"%s\": ..." % n for n in names)))
        item = {names[0]: item}
      if sorted(item) != sorted(names):
        raise RequestError(400, "instances[%d] has %s; the %r signature "
                           "takes %s (every one; \"text_b\": \"\" for a "
                           "single text)" % (i, sorted(item) or "nothing",
                                              signatures.TEXT_SIGNATURE,
                                              names))
      for name in names:
        columns[name].append(_string_value(item[name], "instances[%d].%s" %
                                           (i, name)))
    out = self.predictor.run_text(*[columns[n] for n in names])
    return [_jsonable({k: v[i] for k, v in out.items()})
            for i in range(len(instances))]

  def _examples(self, instances):
    serialized = []
    for i, item in enumerate(instances):
      if isinstance(item, dict) and set(item) == {"examples"}:
        item = item["examples"]
      if not (isinstance(item, dict) and set(item) == {"b64"} and
              isinstance(item["b64"], str)):
        raise RequestError(400, "instances[%d]: from_examples takes "
                           "{\"b64\": \"<base64 tf.Example>\"}" % i)
      try:
        serialized.append(base64.b64decode(item["b64"], validate=True))
      except (binascii.Error, ValueError) as e:
        raise RequestError(400, "instances[%d].b64 is not base64: %s" %
                           (i, e))
      problem = self.predictor.example_problem(serialized[-1])
      if problem:
        raise RequestError(400, "instances[%d].b64: %s" % (i, problem))
    try:
      out = self.predictor.run_examples(serialized)
    except Exception as e:  # pylint: disable=broad-except
      raise RequestError(400, "could not run the tf.Examples: %s" %
                         str(e).split("\n")[0])
    return [_jsonable({k: v[i] for k, v in out.items()})
            for i in range(len(serialized))]


def _string_value(value, what):
  """A string tensor value of a JSON request: a str, or {"b64": base64}."""
  if isinstance(value, str):
    return value.encode("utf-8")
  if isinstance(value, dict) and set(value) == {"b64"} and isinstance(
      value["b64"], str):
    try:
      return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError) as e:
      raise RequestError(400, "%s.b64 is not base64: %s" % (what, e))
  raise RequestError(400, "%s must be a string (or {\"b64\": ...}), got %s"
                     % (what, type(value).__name__))


def _jsonable(outputs):
  out = {}
  for name, value in outputs.items():
    value = np.asarray(value)
    if value.dtype.kind in "SO":
      out[name] = (value.item().decode("utf-8") if value.ndim == 0 else
                   [v.decode("utf-8") for v in value.ravel().tolist()])
    else:
      out[name] = value.tolist()
  return out


class Handler(http_framing.FramedHandler):
  """Routes to server.service; every answer is JSON. Framing, timeouts and
  closing after a refusal: bert_toolkit/serving/http_framing.py."""

  server_version = "bert-tf1-serving"
  # TCP_NODELAY: the headers and the body go out as two writes, and with
  # Nagle's algorithm the second waits for the client's delayed ACK (40 ms
  # on Linux): measured 60 ms for an idle single request that computes in
  # 12 ms.
  disable_nagle_algorithm = True

  def log_message(self, fmt, *args):  # quieter than stderr per request
    log.debug("%s - %s", self.address_string(), fmt % args)

  def _send(self, status, payload):
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    self.send_response(status)
    self.send_header("Content-Type", "application/json")
    self.send_header("Content-Length", str(len(data)))
    self.end_headers()
    if self.command != "HEAD":
      self.wfile.write(data)

  def _error(self, status, message):
    self.server.count_error()
    self._send(status, {"error": message})

  refuse = _error

  def body_limit(self):
    return self.server.max_body_bytes

  def too_large(self, length):
    return ("request body of %d bytes exceeds the limit of %d bytes (server "
            "flag --max_body_bytes); send fewer instances per request" %
            (length, self.server.max_body_bytes))

  def send_error(self, code, message=None, explain=None):
    """http.server's own errors (a garbage request line, an unknown verb,
    oversized headers) as JSON too."""
    self.close_connection = True
    if not hasattr(self, "wfile"):
      return super(Handler, self).send_error(code, message, explain)
    text = message or "HTTP %d" % code
    if code == 501:
      text += ": this server answers GET and POST only"
    self._error(code, text)

  def _not_allowed(self):
    self.server.count_error()
    data = json.dumps({"error": "method %s is not allowed: use GET "
                                "/v1/models/<name> or POST "
                                "/v1/models/<name>:predict" %
                                self.command}).encode("utf-8")
    self.send_response(405)
    self.send_header("Allow", "GET, POST")
    self.send_header("Content-Type", "application/json")
    self.send_header("Content-Length", str(len(data)))
    self.end_headers()
    if self.command != "HEAD":
      self.wfile.write(data)

  do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _not_allowed

  def do_GET(self):  # pylint: disable=invalid-name
    try:
      self._send(200, self.server.service.status(self.path))
    except RequestError as e:
      self._error(e.status, str(e))

  def do_POST(self):  # pylint: disable=invalid-name
    if self.headers.get("Content-Length") is None:
      return self._error(411, "send the body with a Content-Length header "
                         "(chunked transfer is not supported)")
    try:
      body = self.read_body()
    except http_framing.BodyError as e:
      return self._error(e.status, str(e))
    started = time.time()
    try:
      answer = self.server.service.predict(self.path, body)
    except RequestError as e:
      return self._error(e.status, str(e))
    except predictor_lib.PredictorError as e:
      return self._error(400, str(e))
    except Exception as e:  # pylint: disable=broad-except
      log.exception("prediction failed")
      return self._error(500, "prediction failed: %s" %
                         str(e).split("\n")[0])
    self._send(200, answer)
    log.debug("predict %.1f ms", (time.time() - started) * 1000)


class Server(http_server.ThreadingHTTPServer):
  """ThreadingHTTPServer with the service and limits attached."""

  daemon_threads = True
  allow_reuse_address = True
  # listen() backlog: a burst of clients connecting at once (socketserver's
  # default of 5 refuses connections beyond it).
  request_queue_size = 128

  def __init__(self, address, service, max_body_bytes,
               header_timeout=http_framing.HEADER_TIMEOUT,
               body_timeout=http_framing.BODY_TIMEOUT):
    self.service = service
    self.max_body_bytes = max_body_bytes
    self.header_timeout = header_timeout
    self.body_timeout = body_timeout
    self.errors = 0
    self._lock = threading.Lock()
    http_server.ThreadingHTTPServer.__init__(self, address, Handler)

  def count_error(self):
    with self._lock:
      self.errors += 1

  def server_close(self):
    """Closes the socket and stops the batcher's thread, if any."""
    http_server.ThreadingHTTPServer.server_close(self)
    if self.service.batcher:
      self.service.batcher.stop()


def make_server(predictor, model_name, host="127.0.0.1", port=8501,
                max_body_bytes=DEFAULT_MAX_BODY_BYTES,
                max_instances=DEFAULT_MAX_INSTANCES, max_batch_size=0,
                batch_timeout_micros=0,
                header_timeout=http_framing.HEADER_TIMEOUT,
                body_timeout=http_framing.BODY_TIMEOUT):
  """A bound (not yet serving) Server; call serve_forever() / shutdown().

  Args:
    predictor: a loaded serving.Predictor.
    model_name: the <name> in /v1/models/<name>.
    host, port: where to listen (port 0: any free port, see
      server.server_address).
    max_body_bytes: larger request bodies get 413.
    max_instances: more instances per request get 413.
    max_batch_size: > 0 gathers the rows of concurrent requests into
      batches of up to this many (bert_toolkit.serving.batching.Batcher); 0 runs each
      request on its own.
    batch_timeout_micros: how long a batch that is not full waits for more
      requests (0: only what is already waiting).
    header_timeout, body_timeout: seconds a request's line and headers, and
      its body, may take to arrive (bert_toolkit/serving/http_framing.py).

  Raises:
    ValueError: a bad model name or port; OSError: the address cannot be
      bound (in use, or not this machine's).
  """
  http_framing.check_port(port)
  if not re.match(r"^[\w.-]+$", model_name):
    raise ValueError("model name %r: use letters, digits, '_', '-', '.'" %
                     model_name)
  batcher = (batching.Batcher(predictor.run_rows, max_batch_size,
                              batch_timeout_micros)
             if max_batch_size else None)
  service = Service(predictor, model_name, max_instances, batcher)
  try:
    return Server((host, port), service, max_body_bytes, header_timeout,
                  body_timeout)
  except BaseException:
    if batcher:
      batcher.stop()
    raise
