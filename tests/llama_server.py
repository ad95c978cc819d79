"""llama.cpp's own OpenAI-compatible HTTP server (``llama-server``, from the prebuilt
``xllamacpp`` wheel) on loopback, for tests/test_judge_llama.py.

Run as a program so the test can start it, wait for it and kill it like any server:

    python tests/llama_server.py --model FILE.gguf --alias NAME --port N --n-ctx 1200 \
        --threads 2 --chat-template FILE.jinja

It prints ``listening on URL`` once the model is loaded and the socket is open, then serves
until it gets SIGTERM. Nothing is downloaded (``offline``); no web UI; no API key.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--n-ctx", type=int, default=1200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chat-template", type=Path, help="a Jinja chat template file")
    args = parser.parse_args()

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(args.model)
    params.model_alias = {args.alias}
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.offline = True  # never reach a model hub
    params.ui = False
    if args.chat_template is not None:
        params.chat_template = args.chat_template.read_text(encoding="utf-8")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = xllamacpp.Server(params)  # loads the model, then listens in its own threads
    print(f"listening on {server.listening_address}", flush=True)
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
