r"""Runs a command as a local multi-worker cluster, for trying
--distribution_strategy=multi_worker_mirrored on one machine.

  python tools/local_cluster.py --num_workers=2 -- \
      python run_classifier.py --distribution_strategy=multi_worker_mirrored ...

It starts the command num_workers times, each with a TF_CONFIG naming the
cluster on free 127.0.0.1 ports and its own task ("worker" 0 .. N-1; worker
0 is the chief). With --num_ps=M (--distribution_strategy=parameter_server)
the tasks are a "chief", N - 1 "worker"s and M "ps" tasks; the ps tasks are
stopped once the chief and workers have finished. Every output line is streamed with its task's prefix
("[worker 1] ..."). When a worker fails, the others are stopped and the
exit status is the failed worker's; otherwise it is 0. Ctrl-C stops all.

`--threads_per_worker=K` gives each worker K threads (TF_NUM_INTRAOP_THREADS,
TF_NUM_INTEROP_THREADS and OMP_NUM_THREADS), so that N workers share the
cores instead of each taking all of them.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def free_ports(count):
  """`count` distinct TCP ports that were free on 127.0.0.1 just now."""
  sockets, ports = [], []
  for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
    ports.append(s.getsockname()[1])
  for s in sockets:
    s.close()
  return ports


def tf_configs(num_workers, ports, num_ps=0):
  """[(name, TF_CONFIG JSON string)], one per task.

  Without ps tasks: "worker" 0 .. N-1 (worker 0 is the chief). With them
  (parameter_server): a "chief", N - 1 "worker"s and the "ps" tasks, as
  the Estimator requires.
  """
  hosts = ["127.0.0.1:%d" % p for p in ports]
  if num_ps:
    cluster = {"chief": hosts[:1], "worker": hosts[1:num_workers],
               "ps": hosts[num_workers:num_workers + num_ps]}
    tasks = [("chief", 0)] + [("worker", i) for i in range(num_workers - 1)]
    tasks += [("ps", i) for i in range(num_ps)]
  else:
    cluster = {"worker": hosts[:num_workers]}
    tasks = [("worker", i) for i in range(num_workers)]
  return [("%s %d" % (kind, index),
           json.dumps({"cluster": cluster,
                       "task": {"type": kind, "index": index}}))
          for kind, index in tasks]


def _stream(name, pipe, out, lock):
  for line in iter(pipe.readline, ""):
    with lock:
      out.write("[%s] %s" % (name, line if line.endswith("\n")
                             else line + "\n"))
      out.flush()
  pipe.close()


def run_cluster(num_workers, command, threads_per_worker=0, out=sys.stdout,
                poll=0.2, num_ps=0):
  """Starts the tasks, streams their output; returns the exit status.

  Done when every chief / worker has exited 0 (ps tasks serve until they
  are stopped, so they are stopped then); a task that fails stops all.
  """
  configs = tf_configs(num_workers, free_ports(num_workers + num_ps),
                       num_ps)
  lock = threading.Lock()
  procs, threads = [], []
  for name, config in configs:
    env = dict(os.environ, TF_CONFIG=config)
    if threads_per_worker:
      env["TF_NUM_INTRAOP_THREADS"] = str(threads_per_worker)
      env["TF_NUM_INTEROP_THREADS"] = str(threads_per_worker)
      env["OMP_NUM_THREADS"] = str(threads_per_worker)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            universal_newlines=True, bufsize=1)
    with lock:
      out.write("[local_cluster] %s: pid %d, TF_CONFIG %s\n" %
                (name, proc.pid, config))
      out.flush()
    thread = threading.Thread(target=_stream,
                              args=(name, proc.stdout, out, lock))
    thread.daemon = True
    thread.start()
    procs.append((name, proc))
    threads.append(thread)
  status = 0
  try:
    while [p.poll() for n, p in procs
           if not n.startswith("ps ")].count(None):  # polls every one
      failed = [(n, p.returncode) for n, p in procs
                if p.returncode not in (None, 0)]
      if failed:
        name, status = failed[0]
        with lock:
          out.write("[local_cluster] %s exited with status %d: stopping "
                    "the others\n" % (name, status))
          out.flush()
        break
      time.sleep(poll)
  except KeyboardInterrupt:
    status = 130
  for _, proc in procs:
    if proc.poll() is None:
      proc.send_signal(signal.SIGTERM)
  deadline = time.time() + 10
  for _, proc in procs:
    try:
      proc.wait(max(0.1, deadline - time.time()))
    except subprocess.TimeoutExpired:
      proc.kill()
      proc.wait()
  for thread in threads:
    thread.join(5)
  if status == 0:
    failed = [p.returncode for n, p in procs
              if p.returncode and not n.startswith("ps ")]
    status = failed[0] if failed else 0
  return status


def main(argv=None):
  parser = argparse.ArgumentParser(
      description="Run a command as N local workers with TF_CONFIG.",
      usage="%(prog)s --num_workers=N [--num_ps=M] [--threads_per_worker=K] "
            "-- COMMAND ...")
  parser.add_argument("--num_workers", type=int, required=True)
  parser.add_argument("--threads_per_worker", type=int, default=0)
  parser.add_argument("--num_ps", type=int, default=0,
                      help="parameter_server: this many ps tasks (then "
                      "task 0 is a \"chief\")")
  parser.add_argument("command", nargs=argparse.REMAINDER)
  args = parser.parse_args(argv)
  command = args.command[1:] if args.command[:1] == ["--"] else args.command
  if args.num_workers < 1:
    parser.exit(2, "error: --num_workers must be at least 1\n")
  if not command:
    parser.exit(2, "error: no command: put it after --, e.g. -- python "
                "run_classifier.py ...\n")
  if args.num_ps < 0:
    parser.exit(2, "error: --num_ps must be 0 or more\n")
  return run_cluster(args.num_workers, command, args.threads_per_worker,
                     num_ps=args.num_ps)


if __name__ == "__main__":
  sys.exit(main())
