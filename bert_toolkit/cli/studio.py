r"""The studio: fine-tune, watch, evaluate, compare, export and try models
from a web page.

  python studio.py --workspace=studio_ws            # http://127.0.0.1:8600
  python studio.py --workspace=ws --host=0.0.0.0 --token=SECRET

The workspace holds data/<name>/ (train/dev/test files), models/<name>/
(pre-trained checkpoints) and runs/ (the studio's runs); see
bert_toolkit/studio/workspace.py. Runs are the project's scripts in subprocesses, one at
a time by default; stopping the studio leaves them running, and a studio
started again re-attaches to them.
"""

import logging
import os
import signal
import sys

from absl import app
from absl import flags

flags.DEFINE_string("workspace", None, "The studio's folder (made if "
                    "missing): data/, models/, runs/.")
flags.DEFINE_string("host", "127.0.0.1", "Address to bind. Any other than "
                    "127.0.0.1 / localhost needs --token.")
flags.DEFINE_integer("port", 8600, "Port.")
flags.DEFINE_string("token", None, "Required on every request (needed "
                    "with a --host other than this machine).")
flags.DEFINE_integer("max_running", 1, "Runs at the same time; the others "
                     "wait in the queue.")

FLAGS = flags.FLAGS


def fail(message):
  """One `error:` line and exit status 2 (as the run scripts; bert_toolkit.cli.command
  is not used because it loads TensorFlow, which the studio does not)."""
  sys.stderr.write("error: %s\n" % message)
  sys.exit(2)


def _parse_flags(argv):
  try:
    return FLAGS(argv)
  except flags.Error as e:
    fail("%s (see --help)" % e)


def main(_):
  from bert_toolkit.serving import http_framing  # pylint: disable=g-import-not-at-top
  from bert_toolkit.studio import server  # pylint: disable=g-import-not-at-top
  from bert_toolkit.studio import workspace as workspace_lib  # pylint: disable=g-import-not-at-top
  logging.basicConfig(level=logging.INFO, format="%(message)s")
  if not FLAGS.workspace:
    fail("--workspace is required: the folder that holds data/, models/ "
         "and runs/ (it is made if missing)")
  if FLAGS.max_running < 1:
    fail("--max_running must be at least 1, got %d" % FLAGS.max_running)
  if os.path.exists(FLAGS.workspace) and not os.path.isdir(FLAGS.workspace):
    fail("--workspace=%s is a file: name a folder" % FLAGS.workspace)
  try:
    http_framing.check_port(FLAGS.port)
  except ValueError as e:
    fail(e)
  try:
    studio = server.Studio(FLAGS.workspace, None, FLAGS.token,
                           FLAGS.max_running)
  except workspace_lib.WorkspaceBusy as e:
    fail(e)
  try:
    httpd = server.make_server(studio, FLAGS.host, FLAGS.port)
  except ValueError as e:
    studio.close()
    fail(e)
  except OSError as e:
    studio.close()
    fail("cannot listen on %s:%d (%s): pass another --port or --host" %
         (FLAGS.host, FLAGS.port, e.strerror or e))
  address = "http://%s:%d/" % (FLAGS.host, httpd.server_address[1])
  if FLAGS.token:
    address += "?token=" + FLAGS.token
  # SIGTERM stops it as Ctrl-C does: the model server it started for
  # "try" is stopped too (runs go on either way). Set before the address
  # is printed, which is when a caller may send it.
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
  try:
    print("studio: %s (workspace %s; Ctrl-C stops the studio, runs go on)"
          % (address, studio.workspace.root), flush=True)
    httpd.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    httpd.server_close()
    studio.close()


def run():
  """The entry of `python studio.py` and of the console command
  bert-studio (pyproject.toml). absl's --help lists the flags of the module
  named like sys.argv[0]; for the console wrapper, name this module's."""
  if __name__ != "__main__":
    for flag in FLAGS.get_key_flags_for_module(__name__):
      FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
  run()
