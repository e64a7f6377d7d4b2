"""tritonclient, unchanged, against `accelrt serve`: health, metadata, inference over HTTP
(JSON and binary tensors) and gRPC, and error handling. Run by the Rust test
`tritonclient_talks_to_the_server_unchanged`, which starts the server and writes the detector's
input and ONNX Runtime's output for it into --data."""

import argparse
import ast
import os

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

X = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
# mul_1.onnx multiplies its input element-wise by these constants.
MUL = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http", required=True)
    ap.add_argument("--grpc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--det-shape", required=True)
    ap.add_argument("--out-shape", required=True)
    a = ap.parse_args()
    det_x = np.fromfile(os.path.join(a.data, "x.f32"), dtype=np.float32).reshape(ast.literal_eval(a.det_shape))
    det_y = np.fromfile(os.path.join(a.data, "expected.f32"), dtype=np.float32).reshape(ast.literal_eval(a.out_shape))

    for name, mod, url in (("http", httpclient, a.http), ("grpc", grpcclient, a.grpc)):
        c = mod.InferenceServerClient(url=url)
        check(c.is_server_live(), f"{name}: server live")
        check(c.is_server_ready(), f"{name}: server ready")
        check(c.is_model_ready("mul"), f"{name}: model ready")
        meta = c.get_model_metadata("det")
        inputs = meta["inputs"] if name == "http" else [
            {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in meta.inputs
        ]
        check(inputs == [{"name": "x", "datatype": "FP32", "shape": [-1, 3, -1, -1]}], f"{name}: det metadata {inputs}")
        smeta = c.get_server_metadata()
        check((smeta["name"] if name == "http" else smeta.name) == "accelrt", f"{name}: server metadata")

        # mul_1: JSON tensors over HTTP (binary_data=False), raw contents over gRPC.
        binary = {"binary_data": False} if name == "http" else {}
        i = mod.InferInput("X", [3, 2], "FP32")
        i.set_data_from_numpy(X, **binary)
        o = mod.InferRequestedOutput("Y", **binary)
        r = c.infer("mul", [i], outputs=[o], request_id="py-1")
        check(np.array_equal(r.as_numpy("Y"), X * MUL), f"{name}: mul_1 output")
        rid = r.get_response()["id"] if name == "http" else r.get_response().id
        check(rid == "py-1", f"{name}: request id echoed")

        # The detector with tritonclient's defaults (binary tensors over HTTP), compared with a
        # direct ONNX Runtime run.
        i = mod.InferInput("x", list(det_x.shape), "FP32")
        i.set_data_from_numpy(det_x)
        r = c.infer("det", [i])
        out = r.as_numpy(r.get_output(meta_output(c, name))["name"] if name == "http" else meta_output(c, name))
        check(out.shape == det_y.shape and np.allclose(out, det_y, atol=1e-4), f"{name}: detector output equals ONNX Runtime's")

        # Errors come back as InferenceServerException, and the server keeps serving.
        bad = mod.InferInput("X", [2, 3], "FP32")
        bad.set_data_from_numpy(X.reshape(2, 3))
        try:
            c.infer("mul", [bad])
            check(False, f"{name}: wrong shape rejected")
        except InferenceServerException as e:
            check("invalid input" in str(e), f"{name}: wrong shape rejected: {e}")
        try:
            c.infer("nope", [i])
            check(False, f"{name}: unknown model rejected")
        except InferenceServerException as e:
            check("unknown model" in str(e), f"{name}: unknown model rejected: {e}")
        i = mod.InferInput("X", [3, 2], "FP32")
        i.set_data_from_numpy(X)
        check(np.array_equal(c.infer("mul", [i]).as_numpy("Y"), X * MUL), f"{name}: still serving")
    print("all checks passed")


def meta_output(c, name):
    meta = c.get_model_metadata("det")
    return meta["outputs"][0]["name"] if name == "http" else meta.outputs[0].name


if __name__ == "__main__":
    main()
