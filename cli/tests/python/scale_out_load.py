"""Load through a load balancer with tritonclient, unchanged: threads send mul_1 requests
(alternating HTTP and gRPC), each with a unique id and input, until --requests are done. After
--marker-after successes it writes `<dir>/started`; once `<dir>/killed` exists (the test killed
a replica), the requests it starts are counted as "after the kill". Every request ends as
exactly one of: ok (its own id and its own correct output), error (a protocol error from
the server or the load balancer), wrong (someone else's answer) or hung (no answer within the
client timeout). Prints one JSON summary line."""

import argparse
import json
import os
import threading

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

MUL = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
TIMEOUT_S = 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http", required=True)
    ap.add_argument("--grpc", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--marker-after", type=int, default=200)
    a = ap.parse_args()

    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "marked": False}
    outcomes = {}
    killed_flag = os.path.join(a.dir, "killed")

    def worker():
        h = httpclient.InferenceServerClient(url=a.http, connection_timeout=TIMEOUT_S, network_timeout=TIMEOUT_S)
        g = grpcclient.InferenceServerClient(url=a.grpc)
        while True:
            with lock:
                i = state["next"]
                if i >= a.requests:
                    return
                state["next"] += 1
            after = os.path.exists(killed_flag)
            x = np.full((3, 2), float(i % 1000), dtype=np.float32)
            proto = "http" if i % 2 == 0 else "grpc"
            mod, c = (httpclient, h) if proto == "http" else (grpcclient, g)
            inp = mod.InferInput("X", [3, 2], "FP32")
            inp.set_data_from_numpy(x)
            try:
                if proto == "http":
                    r = c.infer("mul", [inp], request_id=str(i))
                    rid = r.get_response()["id"]
                else:
                    r = c.infer("mul", [inp], request_id=str(i), client_timeout=TIMEOUT_S)
                    rid = r.get_response().id
                good = rid == str(i) and np.array_equal(r.as_numpy("Y"), x * MUL)
                kind = "ok" if good else "wrong"
            except InferenceServerException as e:
                msg = str(e)
                timed_out = "timed out" in msg.lower() or "deadline" in msg.lower() or "timeout" in msg.lower()
                kind = "hung" if timed_out else "error"
            except Exception as e:  # the HTTP client raises socket errors as they come
                kind = "hung" if "timed out" in str(e).lower() else "error"
            with lock:
                if i in outcomes:
                    outcomes[i] = ("twice", proto, after)
                else:
                    outcomes[i] = (kind, proto, after)
                if kind == "ok":
                    state["ok"] += 1
                    if state["ok"] >= a.marker_after and not state["marked"]:
                        state["marked"] = True
                        open(os.path.join(a.dir, "started"), "w").close()

    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    summary = {"requests": a.requests, "answered": len(outcomes)}
    for kind in ("ok", "error", "wrong", "hung", "twice"):
        summary[kind] = sum(1 for o in outcomes.values() if o[0] == kind)
        summary[kind + "_after_kill"] = sum(1 for o in outcomes.values() if o[0] == kind and o[2])
    summary["http_ok"] = sum(1 for o in outcomes.values() if o[0] == "ok" and o[1] == "http")
    summary["grpc_ok"] = sum(1 for o in outcomes.values() if o[0] == "ok" and o[1] == "grpc")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
