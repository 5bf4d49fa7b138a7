r"""Serve an export over HTTP with TF Serving's REST predict API.

  python serve.py --export_dir=exports/sst2 --port=8501 [--model_name=sst2]
  curl -s localhost:8501/v1/models/sst2:predict \
      -d '{"instances": [{"text": "a gorgeous, witty film"}]}'

For machines without tensorflow_model_server; the same export also serves
there unchanged. Listens on 127.0.0.1 unless --host says otherwise. See
bert_toolkit/serving/server.py for the request formats and limits.
"""

# The script lives in bert_toolkit/cli/serve.py (importing it defines its flags);
# this file keeps `python serve.py` working from a checkout.
from bert_toolkit.cli.serve import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.serve import run

if __name__ == "__main__":
  run()
