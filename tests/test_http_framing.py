"""Request framing of both HTTP servers (serve.py's and the studio's): a
refused request closes its connection, so nothing that followed it (its
body, a pipelined request) is ever answered as a request of its own; bad
framing is refused; slow clients are closed by the header and body
timeouts. Raw sockets, both servers in threads; no model is loaded (serve.py's
server runs on a stand-in predictor with the tiny BERT's tokenizer)."""

import json
import os
import select
import socket
import threading
import time

import pytest

import tokenization
from bert_toolkit.serving import http_framing
from bert_toolkit.serving import server as serve_lib
from bert_toolkit.studio import server as studio_lib
from tests.paths import REFERENCE_DIR

VOCAB = os.path.join(REFERENCE_DIR, "bert_zh_tiny", "vocab.txt")


class FakePredictor(object):
  """What serve.py's Service reads of a Predictor, without TensorFlow."""

  export_dir = "/nowhere/1"
  output_names = ["probabilities"]
  config = {"vocab_size": 100, "type_vocab_size": 2,
            "max_position_embeddings": 16}

  def __init__(self):
    self.tokenizer = tokenization.from_vocab(VOCAB, True)

  def predict(self, pairs, run_rows=None):
    del run_rows
    return [{"label": "1"} for _ in pairs]

  def run_rows(self, rows):
    return [{"probabilities": [0.5, 0.5]} for _ in rows]

  def example_problem(self, serialized):
    del serialized
    return "not a tf.Example"


def _serve(srv):
  thread = threading.Thread(target=srv.serve_forever, daemon=True)
  thread.start()
  return srv


@pytest.fixture(scope="module")
def model_server():
  srv = _serve(serve_lib.make_server(FakePredictor(), "m", port=0,
                                     max_body_bytes=4096,
                                     header_timeout=1.0, body_timeout=1.0))
  yield srv
  srv.shutdown()
  srv.server_close()


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory):
  studio = studio_lib.Studio(str(tmp_path_factory.mktemp("framing") / "ws"))
  srv = _serve(studio_lib.make_server(studio, port=0, header_timeout=1.0,
                                      body_timeout=1.0))
  yield srv
  srv.shutdown()
  srv.server_close()
  studio.close()


@pytest.fixture(scope="module")
def token_studio_server(tmp_path_factory):
  studio = studio_lib.Studio(str(tmp_path_factory.mktemp("token") / "ws"),
                             token="s3cret")
  srv = _serve(studio_lib.make_server(studio, port=0))
  yield srv
  srv.shutdown()
  srv.server_close()
  studio.close()


def exchange(port, data, timeout=10.0):
  """Sends `data` in one write, reads until the server closes; returns the
  responses as [(status, headers dict (lower-case names), body)]. Fails if
  the server keeps the connection open."""
  with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
    s.sendall(data)
    reply = b""
    deadline = time.monotonic() + timeout
    while True:
      assert time.monotonic() < deadline, "the server did not close"
      try:
        chunk = s.recv(65536)
      except ConnectionResetError:
        break
      if not chunk:
        break
      reply += chunk
  responses = []
  while reply:
    head, _, rest = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
      name, _, value = line.partition(":")
      headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    responses.append((int(lines[0].split()[1]), headers, rest[:length]))
    reply = rest[length:]
  return responses


def _request(method, path, body=b"", headers=(), host="127.0.0.1",
             length=True):
  lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
  lines += ["%s: %s" % h for h in headers]
  if length:
    lines.append("Content-Length: %d" % len(body))
  return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# What an attacker smuggles: a request that, answered, gives away the
# studio's page (its CSRF secret) or the model's status.
STUDIO_SMUGGLED = _request("GET", "/", length=False)
MODEL_SMUGGLED = _request("GET", "/v1/models/m", length=False)


def _csrf(server):
  return ("X-Studio-Csrf", server.studio.csrf)


STUDIO_REFUSALS = [
    # (name, method, path, headers, host, status: with the smuggled request
    # in the body, or a (in the body, pipelined after it) pair)
    ("foreign Host", "POST", "/api/command", "csrf", "evil.example", 403),
    ("foreign Host GET", "GET", "/api/runs", (), "evil.example", (400, 403)),
    ("no CSRF header", "POST", "/api/runs", (), "127.0.0.1", 403),
    ("wrong CSRF header", "POST", "/api/command",
     (("X-Studio-Csrf", "guess"),), "127.0.0.1", 403),
    ("no such action", "POST", "/api/nope", "csrf", "127.0.0.1", 404),
    ("body on a GET", "GET", "/api/runs", (), "127.0.0.1", (400, 200)),
    ("unknown method", "PUT", "/api/runs", "csrf", "127.0.0.1", 501),
]


@pytest.mark.parametrize("where", ["body", "pipelined"])
@pytest.mark.parametrize("name,method,path,headers,host,status",
                         STUDIO_REFUSALS, ids=[r[0] for r in STUDIO_REFUSALS])
def test_a_refused_studio_request_closes_its_connection(
    studio_server, where, name, method, path, headers, host, status):
  del name
  headers = (_csrf(studio_server),) if headers == "csrf" else headers
  if where == "body":
    data = _request(method, path, STUDIO_SMUGGLED, headers, host)
  else:
    data = _request(method, path, b"{}" if method == "POST" else b"",
                    headers, host) + STUDIO_SMUGGLED
  if isinstance(status, tuple):
    status = status[where == "pipelined"]
  if status == 200:
    return                      # a GET without a body is not refused
  responses = exchange(studio_server.server_address[1], data)
  assert [r[0] for r in responses] == [status], responses
  assert responses[0][1]["connection"] == "close"
  assert studio_server.studio.csrf.encode() not in responses[0][2]
  assert json.loads(responses[0][2])["error"]


def test_a_smuggled_command_never_runs_with_the_leaked_secret(
    studio_server):
  """The report's attack: a POST refused for its Host carries a GET / for
  127.0.0.1 (the page holds the CSRF secret). Only the 403 comes back."""
  responses = exchange(studio_server.server_address[1], _request(
      "POST", "/api/command", STUDIO_SMUGGLED, host="evil.example"))
  assert [r[0] for r in responses] == [403]


@pytest.mark.parametrize("data,status", [
    (b"not json" + STUDIO_SMUGGLED, 400),
    (b'{"kind": ["x"]}', 400),
    (b"{" + b" " * (studio_lib.MAX_BODY + 1) + b"}", 413),
], ids=["bad JSON", "wrong type", "too large"])
def test_studio_body_refusals_close_the_connection(studio_server, data,
                                                   status):
  first = _request("POST", "/api/command", data, (_csrf(studio_server),))
  responses = exchange(studio_server.server_address[1],
                       first + STUDIO_SMUGGLED)
  assert [r[0] for r in responses] == [status], responses


def test_a_missing_token_closes_the_connection(token_studio_server):
  data = _request("POST", "/api/command", STUDIO_SMUGGLED)
  data += _request("GET", "/", headers=(("Authorization", "Bearer s3cret"),),
                   length=False)
  responses = exchange(token_studio_server.server_address[1], data)
  assert [r[0] for r in responses] == [401], responses


FRAMING = [
    ("chunked", b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: "
     b"chunked\r\n\r\n5\r\n{}{}{\r\n0\r\n\r\n", 411),
    ("two lengths", b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
     b"2\r\nContent-Length: 0\r\n\r\n{}", 400),
    ("length not a number", b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
     b"Content-Length: 2x\r\n\r\n{}", 400),
    ("negative length", b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
     b"Content-Length: -2\r\n\r\n{}", 400),
    ("garbage request line", b"this is not http\r\n\r\n", 400),
]


@pytest.mark.parametrize("name,data,status", FRAMING,
                         ids=[f[0] for f in FRAMING])
def test_bad_framing_is_refused_and_closed_by_both_servers(
    model_server, studio_server, name, data, status):
  del name
  for srv, path, smuggled in (
      (model_server, b"/v1/models/m:predict", MODEL_SMUGGLED),
      (studio_server, b"/api/command", STUDIO_SMUGGLED)):
    request = data.replace(b"%s", path) if b"%s" in data else data
    responses = exchange(srv.server_address[1], request + smuggled)
    assert [r[0] for r in responses] == [status], (path, responses)
    assert json.loads(responses[0][2])["error"]


MODEL_REFUSALS = [
    ("no such model", "POST", "/v1/models/other:predict", b"{}", 404),
    ("no such endpoint", "POST", "/v1/models/m:classify", b"{}", 404),
    ("malformed JSON", "POST", "/v1/models/m:predict", b"{", 400),
    ("no instances", "POST", "/v1/models/m:predict", b"{}", 400),
    ("body on a GET", "GET", "/v1/models/m", b"{}", 400),
    ("GET of no endpoint", "GET", "/nope", b"", 404),
    ("method not allowed", "PUT", "/v1/models/m", b"{}", 405),
    ("too large", "POST", "/v1/models/m:predict", b"x" * 5000, 413),
]


@pytest.mark.parametrize("where", ["body", "pipelined"])
@pytest.mark.parametrize("name,method,path,body,status", MODEL_REFUSALS,
                         ids=[r[0] for r in MODEL_REFUSALS])
def test_a_refused_model_request_closes_its_connection(
    model_server, where, name, method, path, body, status):
  del name
  if where == "body" and body:
    data = _request(method, path, body + MODEL_SMUGGLED)
  else:
    data = _request(method, path, body) + MODEL_SMUGGLED
  responses = exchange(model_server.server_address[1], data)
  assert [r[0] for r in responses] == [status], responses
  assert responses[0][1]["connection"] == "close"


def test_a_post_without_a_length_is_refused_and_closed(model_server):
  data = (b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\n\r\n" +
          MODEL_SMUGGLED)
  responses = exchange(model_server.server_address[1], data)
  assert [r[0] for r in responses] == [411], responses


def test_good_requests_keep_the_connection_alive(model_server,
                                                 studio_server):
  """Keep-alive still works: pipelined good requests are all answered;
  the last one asks to close."""
  body = json.dumps({"instances": [{"text": "很好"}]}).encode()
  data = (_request("POST", "/v1/models/m:predict", body) +
          _request("GET", "/v1/models/m", length=False) +
          _request("GET", "/v1/models/m", headers=(("Connection", "close"),),
                   length=False))
  responses = exchange(model_server.server_address[1], data)
  assert [r[0] for r in responses] == [200, 200, 200], responses
  data = (_request("POST", "/api/command", b'{"kind": "x"}',
                   (_csrf(studio_server),)) +
          _request("GET", "/api/runs", headers=(("Connection", "close"),),
                   length=False))
  responses = exchange(studio_server.server_address[1], data)
  assert [r[0] for r in responses] == [400], responses  # a refusal closes
  data = (_request("GET", "/api/runs", length=False) +
          _request("GET", "/api/runs", headers=(("Connection", "close"),),
                   length=False))
  responses = exchange(studio_server.server_address[1], data)
  assert [r[0] for r in responses] == [200, 200], responses


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200c\u200d", "\x00\x01",
                                  "\ufeff \u2060", "\x7f"])
def test_a_text_without_tokens_is_refused_as_an_empty_one(model_server,
                                                          text):
  body = json.dumps({"instances": [{"text": "好"},
                                   {"text": text}]}).encode()
  responses = exchange(model_server.server_address[1],
                       _request("POST", "/v1/models/m:predict", body))
  assert responses[0][0] == 400, responses
  error = json.loads(responses[0][2])["error"]
  assert "instances[1].text has no tokens" in error, error
  body = json.dumps({"instances": [{"text": "好", "text_b": "\u200b"}]})
  responses = exchange(model_server.server_address[1],
                       _request("POST", "/v1/models/m:predict",
                                body.encode()))
  assert responses[0][0] == 400
  assert "instances[0].text_b" in json.loads(responses[0][2])["error"]


# ----------------------------------------------------------- timeouts ---

def _closed_within(port, first, drip, seconds):
  """Sends `first`, then one byte of `drip` every 0.1 s; returns (what the
  server sent, seconds until it closed), or fails after `seconds`."""
  with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
    started = time.monotonic()
    s.sendall(first)
    reply = b""
    for i in range(int(seconds / 0.1)):
      try:
        s.sendall(drip[i % len(drip):i % len(drip) + 1])
      except OSError:
        return reply, time.monotonic() - started
      readable, _, _ = select.select([s], [], [], 0.1)
      if readable:
        try:
          chunk = s.recv(65536)
        except ConnectionResetError:
          return reply, time.monotonic() - started
        if not chunk:
          return reply, time.monotonic() - started
        reply += chunk
  raise AssertionError("the connection is still open after %g s" % seconds)


@pytest.mark.parametrize("which", ["model", "studio"])
def test_a_client_sending_headers_byte_by_byte_is_closed(
    model_server, studio_server, which):
  srv = model_server if which == "model" else studio_server
  reply, seconds = _closed_within(srv.server_address[1], b"GET / HTTP/1.1\r\n",
                                  b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n", 6)
  assert reply == b"" and seconds < 4, (reply, seconds)


@pytest.mark.parametrize("which", ["model", "studio"])
def test_a_client_sending_the_body_byte_by_byte_gets_408(
    model_server, studio_server, which):
  srv = model_server if which == "model" else studio_server
  path = "/v1/models/m:predict" if which == "model" else "/api/command"
  headers = (("X-Studio-Csrf", studio_server.studio.csrf),)
  first = _request("POST", path, headers=headers).replace(
      b"Content-Length: 0", b"Content-Length: 1000")
  reply, seconds = _closed_within(srv.server_address[1], first, b" ", 6)
  assert reply.startswith(b"HTTP/1.1 408"), reply
  assert b"Connection: close" in reply and seconds < 4


def test_an_idle_keep_alive_connection_is_closed(model_server):
  with socket.create_connection(("127.0.0.1",
                                 model_server.server_address[1]),
                                timeout=10) as s:
    s.sendall(_request("GET", "/v1/models/m", length=False))
    started = time.monotonic()
    reply = b""
    while True:
      chunk = s.recv(65536)
      if not chunk:
        break
      reply += chunk
  assert reply.startswith(b"HTTP/1.1 200")
  assert time.monotonic() - started < 4


# -------------------------------------------------------------- ports ---

@pytest.mark.parametrize("port", [99999, -1, 65536, "80", True])
def test_a_port_out_of_range_is_a_value_error(port):
  with pytest.raises(ValueError, match="0 to 65535"):
    http_framing.check_port(port)
  with pytest.raises(ValueError, match="0 to 65535"):
    serve_lib.make_server(FakePredictor(), "m", port=port)


def test_a_port_in_use_is_an_os_error_for_both_servers(tmp_path):
  with socket.socket() as busy:
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    with pytest.raises(OSError):
      serve_lib.make_server(FakePredictor(), "m", port=port)
    studio = studio_lib.Studio(str(tmp_path / "ws"))
    try:
      with pytest.raises(OSError):
        studio_lib.make_server(studio, port=port)
    finally:
      studio.close()
