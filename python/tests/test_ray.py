"""accelrt inside Ray: the map_batches class, the Serve application, the OCR example, and a
two-node cluster that loses a node mid-run without losing or duplicating a row.

Ray (pinned in ray_cluster.py) is installed from PyPI when missing; these tests skip, saying
why, only when PyPI cannot be reached.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from helpers import run_python
from ray_cluster import Cluster, RayUnavailable, ensure_ray, free_port

HERE = pathlib.Path(__file__).resolve().parent

pytestmark = pytest.mark.ray


def test_accelrt_ray_imports_without_ray():
    done = run_python("import sys; sys.modules['ray'] = None\nimport accelrt.ray\nprint(accelrt.ray.Predictor.__name__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Predictor"


@pytest.fixture(scope="module")
def ray_available():
    try:
        ensure_ray()
    except RayUnavailable as e:
        print(f"\nSKIPPING the Ray tests: {e}")
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def local_ray(ray_available):
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def det_inputs(n, side=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3, side, side), dtype=np.float32)


def test_predictor_in_map_batches_matches_onnxruntime(local_ray, ocr_models, det_session):
    import accelrt.ray

    ray = local_ray
    xs = det_inputs(120)
    ds = ray.data.from_items([{"id": i, "x": xs[i]} for i in range(len(xs))], override_num_blocks=4)
    out = ds.map_batches(
        accelrt.ray.Predictor,
        fn_constructor_kwargs={"model": str(ocr_models["det"]), "instances": 1, "intra_threads": 1},
        compute=ray.data.ActorPoolStrategy(size=2),
        num_cpus=0.5,
        batch_size=16,
    )
    rows = sorted(out.take_all(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == list(range(len(xs)))
    for r in rows[::7]:
        (want,) = det_session.run(None, {"x": xs[r["id"]][None]})
        np.testing.assert_allclose(r["sigmoid_0.tmp_0"][None], want, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(r["x"], xs[r["id"]])  # input columns pass through


def test_predictor_records_bad_rows_and_keeps_going(local_ray):
    import accelrt
    import accelrt.ray

    ray = local_ray
    rows = [{"id": i, "x": np.full(4, 13.0 if i % 10 == 3 else float(i), np.float32)} for i in range(60)]
    out = ray.data.from_items(rows).map_batches(
        accelrt.ray.Predictor,
        fn_constructor_kwargs={
            "model": lambda: accelrt.Runtime.sim(max_batch=8, faults={"invalid_value": 13.0}),
            "input_columns": "x",
            "output_columns": "y",
            "on_error": "record",
            "drop_inputs": True,
        },
        compute=ray.data.ActorPoolStrategy(size=1),
        num_cpus=0.5,
        batch_size=20,
    )
    got = sorted(out.take_all(), key=lambda r: r["id"])
    assert len(got) == 60 and "x" not in got[0]
    for r in got:
        if r["id"] % 10 == 3:
            assert r["error"].startswith("InvalidInputError")
        else:
            assert r["error"] == ""
            np.testing.assert_array_equal(r["y"], np.full(4, 2.0 * r["id"] + 1, np.float32))


def test_serve_replica_batches_concurrent_http_requests(local_ray):
    import accelrt
    import accelrt.ray
    from ray import serve

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        app = accelrt.ray.serve_app(
            lambda: accelrt.Runtime.sim(max_batch=16, batch_timeout=0.01, compute=0.005),
            name="sim",
            ray_actor_options={"num_cpus": 0.5},
        )
        handle = serve.run(app, route_prefix="/sim", name="sim")
        url = f"http://127.0.0.1:{port}/sim"

        def post(v):
            body = json.dumps({"inputs": [[float(v)] * 4]}).encode()
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())["outputs"]

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            outs = list(pool.map(post, range(96)))
        assert outs == [[[2.0 * v + 1] * 4] for v in range(96)]
        stats = json.loads(urllib.request.urlopen(url, timeout=60).read())
        assert stats["completed"] == 96
        assert stats["mean_batch"] > 1.5  # requests from different HTTP clients shared batches
        # Python callers use the deployment handle with numpy arrays.
        y = handle.predict.remote(np.ones((1, 4), np.float32)).result(timeout_s=60)
        np.testing.assert_array_equal(y, np.full((1, 4), 3.0, np.float32))
        bad = urllib.request.Request(url, data=b'{"no": 1}', headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(bad, timeout=60)
        assert info.value.code == 400
    finally:
        serve.shutdown()


def test_ocr_example_writes_one_parquet_file(ray_available, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "pages.parquet"
    env = dict(os.environ, RAY_ADDRESS="local", RAY_AUTH_MODE="disabled")
    done = subprocess.run(
        [sys.executable, str(HERE.parent / "examples" / "ray_ocr.py"), "--demo", "8", "--out", str(out), "--actors", "2", "--cpus-per-actor", "0.5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = pq.read_table(out)
    assert table.num_rows == 8
    rows = table.to_pylist()
    assert all(r["error"] == "" for r in rows)
    assert [rows[0]["lines"][0], rows[7]["lines"][0]] == ["Order 1000", "Order 1007"]
    assert all(len(r["boxes"]) == len(r["lines"]) == len(r["scores"]) for r in rows)


@pytest.mark.slow
def test_a_node_lost_mid_run_loses_and_duplicates_nothing(ray_available, ocr_models, tmp_path):
    import onnxruntime as ort

    sys.path.insert(0, str(HERE))
    from ray_node_loss_driver import inputs_for

    n = 2400
    cluster = Cluster(head_cpus=2)
    try:
        second = cluster.add_node(cpus=2)
        out = tmp_path / "rows.npz"
        env = dict(cluster.env, RAY_ADDRESS=cluster.address)
        driver = subprocess.Popen(
            [sys.executable, str(HERE / "ray_node_loss_driver.py"), cluster.address, str(ocr_models["det"]), str(n), str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        killed = None
        deadline = time.monotonic() + 900
        for line in driver.stdout:
            if time.monotonic() > deadline:
                break
            if line.startswith("progress") and killed is None:
                done_rows = int(line.split()[1])
                if done_rows >= 0.3 * n:
                    assert cluster.node_pids(second), "the second node's raylet is not running"
                    killed = cluster.kill_node(second)
                    killed_at = done_rows
        driver.wait(timeout=max(1, deadline - time.monotonic()))
        stderr = driver.stderr.read()
        assert driver.returncode == 0, stderr[-4000:]
        assert killed, "the run ended before a node could be killed"
        assert not cluster.node_pids(second)
    finally:
        cluster.stop()

    rows = np.load(out)
    ids = rows["ids"]
    by_node = {node: int((rows["nodes"] == node).sum()) for node in set(rows["nodes"].tolist())}
    print(
        f"\nnode loss: killed {len(killed)} processes of the second node after {killed_at} of {n} rows; "
        f"{len(ids)} rows back ({len(set(ids.tolist()))} distinct); rows per node {sorted(by_node.values())}; "
        f"actor processes {sorted(set(rows['pids'].tolist()))}"
    )
    # Every input row exactly once.
    assert len(ids) == n, f"{len(ids)} rows for {n} inputs"
    assert sorted(ids.tolist()) == list(range(n))
    # Both nodes worked before the kill; Ray restarted the lost actor and retried its work.
    nodes_before = set(rows["nodes"][:killed_at].tolist())
    assert len(nodes_before) == 2, nodes_before
    assert len(set(rows["pids"].tolist())) >= 3  # two actors, and at least one restarted
    # The right result: a sample compared with onnxruntime on the same inputs.
    session = ort.InferenceSession(str(ocr_models["det"]), providers=["CPUExecutionProvider"])
    index = {int(i): k for k, i in enumerate(ids)}
    for i in range(0, n, 97):
        (want,) = session.run(None, {"x": inputs_for([i])})
        k = index[i]
        np.testing.assert_allclose(rows["corners"][k], want.reshape(-1)[:16], rtol=1e-4, atol=1e-5)
        assert rows["digests"][k] == pytest.approx(float(want.astype(np.float64).sum()), rel=1e-4)
