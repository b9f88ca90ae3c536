"""Memory of two endpoints on one model: separate deployments (no ``deployment_id``) vs one shared deployment.

    python -m bench.deployment_memory [--model .multilingual-e5-small]

Each case runs in a fresh subprocess with a private ``$INGEST_HOME`` (the model cache stays shared) and reports
the process RSS (``VmRSS``) before any model, after the first endpoint and after the second, each after one
inference. As in Elasticsearch, an endpoint without ``deployment_id`` gets its own deployment, so the model is
loaded twice; endpoints naming one ``deployment_id`` share its single loaded copy (and its queue).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile


def rss_mb() -> float:
    """This process's resident set size in MB, from /proc."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _case(model_id: str, shared: bool) -> dict[str, float]:
    from ingest.models.api import InferenceAPI
    from ingest.models.trained_models import TrainedModels

    api = InferenceAPI()
    out = {"baseline": rss_mb()}
    settings: dict[str, object] = {"model_id": model_id, "num_threads": 1, "num_allocations": 1}
    if shared:
        TrainedModels(api).start(model_id, {"deployment_id": "shared"}, timeout_s=600)
        settings = {"deployment_id": "shared"}
    for n, name in enumerate(("first", "second")):
        api.put(f"e{n}", {"service": "elasticsearch", "service_settings": settings}, task_type="text_embedding",
                timeout_s=600)
        api.infer(f"e{n}", ["a short passage about memory"], timeout_s=600)
        out[name] = rss_mb()
    out["deployments"] = float(len(api.deployments.all()))
    api.close()
    return out


def main(argv: list[str] | None = None) -> None:
    """Run both cases in subprocesses and print their RSS."""
    parser = argparse.ArgumentParser(prog="python -m bench.deployment_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=".multilingual-e5-small")
    parser.add_argument("--case", choices=("separate", "shared"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(_case(args.model, args.case == "shared")))
        return
    lines = [f"two text_embedding endpoints on {args.model}: process RSS (MB)",
             f"{'case':<34} {'no model':>9} {'1st':>7} {'2nd':>7} {'2nd - 1st':>10} {'deployments':>12}"]
    for case in ("separate", "shared"):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "INGEST_HOME": home}
            done = subprocess.run([sys.executable, "-m", "bench.deployment_memory", "--model", args.model,
                                   "--case", case], env=env, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        label = "separate (no deployment_id)" if case == "separate" else "shared (deployment_id)"
        lines.append(f"{label:<34} {r['baseline']:>9.0f} {r['first']:>7.0f} {r['second']:>7.0f} "
                     f"{r['second'] - r['first']:>10.0f} {int(r['deployments']):>12}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
