"""Serve an export over HTTP with TF Serving's REST predict API.

  python serve.py --export_dir=exports/sst2 --port=8501 [--model_name=sst2]
  curl -s localhost:8501/v1/models/sst2:predict \\
      -d '{"instances": [{"text": "a gorgeous, witty film"}]}'

For machines without tensorflow_model_server; the same export also serves
there unchanged. Listens on 127.0.0.1 unless --host says otherwise. See
bert_toolkit/serving/server.py for the request formats and limits.
"""

import logging
import sys

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common
from bert_toolkit.errors import SettingsError
from bert_toolkit.serving import http_framing
from bert_toolkit.serving.predictor import PredictorError

flags.DEFINE_string("export_dir", None, "Export base (the highest version "
                    "is served) or one version directory.")
flags.DEFINE_string("model_name", None, "The <name> in /v1/models/<name> "
                    "(default: the run's task, else \"model\").")
flags.DEFINE_string("host", "127.0.0.1", "Address to bind; other than "
                    "loopback exposes the model to the network.")
flags.DEFINE_integer("port", 8501, "Port (8501: TF Serving's REST port).")
flags.DEFINE_integer("max_body_bytes", 1 << 20, "Larger request bodies get "
                     "HTTP 413.")
flags.DEFINE_integer("max_instances", 128, "Most instances per request.")
flags.DEFINE_integer("batch_size", 32, "Most instances per Session.run.")
flags.DEFINE_integer("max_batch_size", 32, "Request batching (TF Serving's "
                     "parameter): rows of concurrent requests are gathered "
                     "into batches of up to this many; 0 turns it off.")
flags.DEFINE_integer("batch_timeout_micros", 0, "How long a batch that is "
                     "not full waits for more requests (TF Serving's "
                     "parameter); 0: only those already waiting, so an idle "
                     "server answers at once.")
flags.DEFINE_integer("num_threads", 0, "TF threads (0: all cores).")

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top
  from bert_toolkit.serving import server as server_lib  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "export_dir")
  for name in ("max_body_bytes", "max_instances", "batch_size"):
    if getattr(FLAGS, name) < 1:
      raise SettingsError("--%s must be positive" % name)
  for name in ("max_batch_size", "batch_timeout_micros"):
    if getattr(FLAGS, name) < 0:
      raise SettingsError("--%s must be >= 0" % name)
  try:
    http_framing.check_port(FLAGS.port)
  except ValueError as e:
    raise SettingsError(str(e))
  logging.basicConfig(level=logging.INFO, stream=sys.stderr)
  predictor = predictor_lib.Predictor(FLAGS.export_dir,
                                      batch_size=FLAGS.batch_size,
                                      num_threads=FLAGS.num_threads)
  name = FLAGS.model_name or predictor.config.get("task") or "model"
  try:
    server = server_lib.make_server(
        predictor, name, FLAGS.host, FLAGS.port,
        max_body_bytes=FLAGS.max_body_bytes,
        max_instances=FLAGS.max_instances,
        max_batch_size=FLAGS.max_batch_size,
        batch_timeout_micros=FLAGS.batch_timeout_micros)
  except (OSError, ValueError) as e:
    predictor.close()
    raise SettingsError("cannot listen on %s:%d (%s): pass another --port "
                        "or --host" % (FLAGS.host, FLAGS.port,
                                       getattr(e, "strerror", None) or e))
  host, port = server.server_address[:2]
  if host not in ("127.0.0.1", "::1", "localhost"):
    logging.warning("listening on %s: reachable from other machines", host)
  print("serving %s (%s) at http://%s:%d/v1/models/%s:predict" %
        (predictor.export_dir, predictor.kind, host, port, name), flush=True)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    server.server_close()
    predictor.close()


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main, extra_errors=(PredictorError,))


if __name__ == "__main__":
  run()
