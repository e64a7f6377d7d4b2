"""The driver of the node-loss test (tests/test_ray.py): a dataset of N rows through accelrt
actors spread over the cluster, results streamed back and saved; progress on stdout so the
test knows when to kill a node.

    python ray_node_loss_driver.py ADDRESS MODEL N OUT.npz
"""

from __future__ import annotations

import os
import sys

import numpy as np
import ray

import accelrt.ray

SIDE = 64


def inputs_for(ids: np.ndarray) -> np.ndarray:
    """Row ``i``'s input, reproducible from its id alone."""
    return np.stack([np.random.default_rng(int(i)).random((3, SIDE, SIDE), dtype=np.float32) for i in ids])


class Tagged(accelrt.ray.Predictor):
    """The accelrt predictor, plus which node and process handled each row."""

    async def __call__(self, batch):
        out = await super().__call__(batch)
        n = len(out["id"])
        out["node"] = np.array([ray.get_runtime_context().get_node_id()] * n, dtype=object)
        out["pid"] = np.full(n, os.getpid(), np.int64)
        # Keep what goes back to the driver small: a digest of each output map.
        maps = out.pop("sigmoid_0.tmp_0")
        out["digest"] = maps.reshape(n, -1).astype(np.float64).sum(axis=1)
        out["corner"] = maps.reshape(n, -1)[:, :16].copy()
        del out["x"]
        return out


def main() -> None:
    address, model, n, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    ray.init(address=address)
    ds = ray.data.range(n, override_num_blocks=max(8, n // 50)).map_batches(
        lambda b: {"id": b["id"], "x": inputs_for(b["id"])}, num_cpus=0.25
    )
    out = ds.map_batches(
        Tagged,
        fn_constructor_kwargs={"model": model, "instances": 1, "intra_threads": 1, "max_batch": 8, "parallel": 1},
        compute=ray.data.ActorPoolStrategy(size=2),
        num_cpus=0.5,
        batch_size=25,
        scheduling_strategy="SPREAD",
    )
    ids, nodes, pids, digests, corners = [], [], [], [], []
    for batch in out.iter_batches(batch_size=50, batch_format="numpy"):
        ids.extend(batch["id"].tolist())
        nodes.extend(batch["node"].tolist())
        pids.extend(batch["pid"].tolist())
        digests.extend(batch["digest"].tolist())
        corners.extend(list(batch["corner"]))
        print(f"progress {len(ids)} {n}", flush=True)
    np.savez(
        out_path,
        ids=np.array(ids),
        nodes=np.array(nodes, dtype=str),
        pids=np.array(pids),
        digests=np.array(digests),
        corners=np.array(corners),
    )
    print("done", flush=True)


if __name__ == "__main__":
    main()
