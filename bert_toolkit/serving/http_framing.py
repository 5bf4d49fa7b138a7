"""HTTP/1.1 request framing shared by serve.py's and the studio's servers.

Both servers are `http.server` handlers on this base, so where one request
ends and the next begins is decided here, once:

  - A refused request (any answer with status 400 or more) closes its
    connection after the answer (`Connection: close`). Whatever followed it
    on the connection, its body included, is never read as a request.
  - A request whose declared body was not read to its end (the handler
    answered without it) also closes the connection.
  - Transfer-Encoding (chunked) is refused with 411; more than one
    Content-Length, or one that is not a number of bytes, with 400; a GET
    or HEAD that declares a body with 400. All of them close.
  - The request line and headers must arrive within `header_timeout`
    seconds of the server waiting for them (an idle keep-alive connection
    included), else the connection is closed unanswered; a body must
    arrive within `body_timeout` seconds, else 408 and close. A client
    that sends a byte now and then is closed as well: the limits are on
    the whole read, not on each byte.
  - Before a connection is closed the server stops sending and reads what
    the client still sends (up to `linger_seconds` and `linger_bytes`), so
    a client that sent a body the server did not want still gets the
    answer rather than a reset.

A server object may set `header_timeout` and `body_timeout` attributes to
override the handler's defaults (make_server's arguments). No TensorFlow
here: the studio imports this module.
"""

import io
import re
import socket
import time
from http import server as http_server

HEADER_TIMEOUT = 30.0
BODY_TIMEOUT = 60.0
_LENGTH = re.compile(r"^[0-9]{1,18}$")


class BodyError(Exception):
  """The body could not be read: HTTP status and a message with the fix."""

  def __init__(self, status, message):
    super(BodyError, self).__init__(message)
    self.status = status


def check_port(port, flag="--port"):
  """ValueError unless `port` is a TCP port number (0: any free one)."""
  if isinstance(port, bool) or not isinstance(port, int) or \
      not 0 <= port <= 65535:
    raise ValueError("%s=%s: a port number from 0 to 65535 (0: any free "
                     "port)" % (flag, port))
  return port


class _DeadlineReader(io.RawIOBase):
  """Socket reads that fail with socket.timeout once `deadline` (a
  time.monotonic() value, or None) has passed, however the bytes trickle
  in; each read also waits at most `idle` seconds."""

  def __init__(self, sock, idle):
    super(_DeadlineReader, self).__init__()
    self._sock = sock
    self.idle = idle
    self.deadline = None

  def readable(self):
    return True

  def readinto(self, buffer):
    timeout = self.idle
    if self.deadline is not None:
      left = self.deadline - time.monotonic()
      if left <= 0:
        raise socket.timeout("the request did not arrive in time")
      timeout = left if timeout is None else min(timeout, left)
    self._sock.settimeout(timeout)
    try:
      return self._sock.recv_into(buffer)
    finally:
      self._sock.settimeout(self.idle)


class FramedHandler(http_server.BaseHTTPRequestHandler):
  """BaseHTTPRequestHandler with the framing rules above.

  A subclass implements `refuse(status, message)` (its error answer) and
  may set `max_body_bytes` / override `too_large(length)`; it reads a
  body only through `read_body()`.
  """

  protocol_version = "HTTP/1.1"
  # Answer even an unreadable request line with a status line and headers
  # (http.server would answer it as HTTP/0.9: a bare body).
  default_request_version = "HTTP/1.0"
  timeout = 60                  # seconds one read or write may stall
  header_timeout = HEADER_TIMEOUT
  body_timeout = BODY_TIMEOUT
  linger_seconds = 5.0
  linger_bytes = 64 << 20
  max_body_bytes = 1 << 20
  # Methods whose request may not carry a body (others that the handler
  # does not take are refused by it, 405 or 501, and closed).
  bodiless_methods = ("GET", "HEAD")

  # ------------------------------------------------------- subclass API ---

  def refuse(self, status, message):
    """Sends the error answer (a subclass speaks its own format)."""
    self.send_error(status, message)

  def body_limit(self):
    return self.max_body_bytes

  def too_large(self, length):
    return ("request body of %d bytes exceeds the limit of %d bytes" %
            (length, self.body_limit()))

  def read_body(self):
    """The request's body, all of it (b"" when none is declared).

    Raises:
      BodyError: 413 over the limit (nothing is read), 408 when it does not
        arrive within body_timeout, 400 when the client ends it early.
    """
    length = self._declared
    if length > self.body_limit():
      raise BodyError(413, self.too_large(length))
    if not length:
      return b""
    seconds = self._setting("body_timeout")
    self._reader.deadline = time.monotonic() + seconds
    try:
      data = self.rfile.read(length)
    except socket.timeout:
      raise BodyError(408, "the body did not arrive within %g seconds: "
                      "send it at once" % seconds)
    finally:
      self._reader.deadline = None
    self._consumed += len(data or b"")
    if len(data or b"") != length:
      raise BodyError(400, "the body is shorter than its Content-Length "
                      "(%d of %d bytes)" % (len(data or b""), length))
    return data

  # -------------------------------------------------------- the framing ---

  def _setting(self, name):
    value = getattr(self.server, name, None)
    return getattr(self, name) if value is None else value

  def setup(self):
    http_server.BaseHTTPRequestHandler.setup(self)
    self.rfile.close()          # replaced by a reader with deadlines
    self._reader = _DeadlineReader(self.connection, self.timeout)
    self.rfile = io.BufferedReader(self._reader)
    self._declared = self._consumed = 0
    self._status = None
    self._close_sent = False

  def handle_one_request(self):
    self._declared = self._consumed = 0
    self._status = None
    self._close_sent = False
    self._reader.deadline = (time.monotonic() +
                             self._setting("header_timeout"))
    try:
      http_server.BaseHTTPRequestHandler.handle_one_request(self)
    finally:
      self._reader.deadline = None
    if self._declared > self._consumed:
      self.close_connection = True

  def _framing_problem(self):
    """(status, message) if the request's framing is refused, else None;
    sets the declared body length."""
    self._declared = 0
    if self.headers.get_all("Transfer-Encoding"):
      return (411, "Transfer-Encoding is not supported: send the body "
              "with a Content-Length header")
    lengths = self.headers.get_all("Content-Length") or []
    if len(lengths) > 1:
      return 400, "more than one Content-Length header: send exactly one"
    if lengths:
      if not _LENGTH.match(lengths[0].strip()):
        return (400, "bad Content-Length header %r: give the body's size "
                "in bytes" % lengths[0][:40])
      self._declared = int(lengths[0].strip())
    if self._declared and self.command in self.bodiless_methods:
      return (400, "a %s request takes no body: send it without one" %
              self.command)
    return None

  def handle_expect_100(self):
    problem = self._framing_problem()
    if problem is None and self._declared > self.body_limit():
      problem = 413, self.too_large(self._declared)
    if problem:
      self.refuse(*problem)
      return False
    return http_server.BaseHTTPRequestHandler.handle_expect_100(self)

  def parse_request(self):
    if not http_server.BaseHTTPRequestHandler.parse_request(self):
      return False
    self._reader.deadline = None
    problem = self._framing_problem()
    if problem:
      self.refuse(*problem)
      return False
    return True

  # ----------------------------------------------------------- answers ---

  def send_response_only(self, code, message=None):
    self._status = code
    http_server.BaseHTTPRequestHandler.send_response_only(self, code,
                                                          message)

  def send_header(self, keyword, value):
    if keyword.lower() == "connection" and str(value).lower() == "close":
      self._close_sent = True
    http_server.BaseHTTPRequestHandler.send_header(self, keyword, value)

  def end_headers(self):
    final = self._status is None or self._status >= 200
    if final and ((self._status or 0) >= 400 or
                  self._declared > self._consumed):
      self.close_connection = True
    if final and self.close_connection and not self._close_sent:
      self.send_header("Connection", "close")
    http_server.BaseHTTPRequestHandler.end_headers(self)

  def finish(self):
    http_server.BaseHTTPRequestHandler.finish(self)
    self._linger()

  def _linger(self):
    """Half-closes, then reads and drops what the client still sends (its
    unwanted body), so that closing does not reset the connection before
    the client has read the answer."""
    try:
      self.connection.shutdown(socket.SHUT_WR)
    except OSError:
      return
    deadline = time.monotonic() + self.linger_seconds
    left = self.linger_bytes
    while left > 0:
      wait = deadline - time.monotonic()
      if wait <= 0:
        return
      try:
        self.connection.settimeout(wait)
        chunk = self.connection.recv(1 << 16)
      except OSError:
        return
      if not chunk:
        return
      left -= len(chunk)
