"""PyTorch doing the work of `examples/cuda_bench` (examples/cuda_bench/main.rs), the way its
docs suggest.

The same work as the Rust side: requests are rows taken round-robin from a pool of the same
number of distinct random tensors (`pool`), `batches` batches of `batch` rows, one host thread
preparing batches (the Rust side's default `--parallel 1`), and `depth` CUDA streams for
`depth` batches in flight. Per batch: gather the requests into a pinned host tensor, copy it to
the GPU with `non_blocking=True` on the batch's stream, run the same MLP (Linear + ReLU layers
of the same sizes, fp32, TF32 off like cuBLAS's default), copy the result back into pinned
memory with `non_blocking=True`, and read it once the stream's event has completed. Streams are
used round-robin so copies of one batch overlap another's kernels, as in the accelrt slots.

    python3 benches/cuda_torch_baseline.py --from target/cuda_bench/cuda_bench.json [--out PATH]

With `--from`, every setting comes from the Rust run's results and a comparison is printed;
`--out` writes PyTorch's numbers and the comparison as JSON.
"""

import argparse
import json
import time

import torch


def build_mlp(dims):
    layers = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i + 2 < len(dims):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).cuda().eval()


def run(model, dims, batch, batches, depth, requests):
    """Items/s for `batches` batches; request j of the run is `requests[j % len(requests)]`."""
    streams = [torch.cuda.Stream() for _ in range(depth)]
    staging = [torch.empty(batch, dims[0]).pin_memory() for _ in range(depth)]
    outputs = [torch.empty(batch, dims[-1]).pin_memory() for _ in range(depth)]
    done = [None] * depth
    results = []
    start = time.perf_counter()
    for i in range(batches):
        s = i % depth
        if done[s] is not None:
            done[s].synchronize()
            results.append(outputs[s].clone())  # hand the batch's outputs to their callers
        rows = [requests[j % len(requests)] for j in range(i * batch, (i + 1) * batch)]
        torch.cat(rows, out=staging[s])  # collate into pinned memory
        with torch.cuda.stream(streams[s]):
            x = staging[s].to("cuda", non_blocking=True)
            y = model(x)
            outputs[s].copy_(y, non_blocking=True)
            done[s] = torch.cuda.Event()
            done[s].record(streams[s])
    for i in range(batches, batches + depth):
        s = i % depth
        if done[s] is not None:
            done[s].synchronize()
            results.append(outputs[s].clone())
    torch.cuda.synchronize()
    wall = time.perf_counter() - start
    assert len(results) == batches
    return batch * batches / wall


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--from", dest="source", help="JSON results of examples/cuda_bench")
    p.add_argument("--out", help="write PyTorch's results (and the comparison) here as JSON")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--dims", type=str, default="4096,4096,4096")
    p.add_argument("--batches", type=int, default=64)
    p.add_argument("--pool", type=int, default=0, help="distinct inputs (default: one per request)")
    a = p.parse_args()
    ours = None
    if a.source:
        with open(a.source) as f:
            ours = json.load(f)
        batch, dims, batches = ours["batch"], ours["dims"], ours["batches"]
        pool, parallel = ours["pool"], ours.get("parallel", 1)
    else:
        batch, dims, batches = a.batch, [int(d) for d in a.dims.split(",")], a.batches
        pool, parallel = a.pool or a.batch * a.batches, 1
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}: MLP {dims}, batch {batch}, "
          f"{batches} batches, {pool} distinct inputs, 1 host thread")
    if parallel != 1:
        print(f"  note: the accelrt run used {parallel} preparation threads; this loop uses one")
    with torch.inference_mode():
        model = build_mlp(dims)
        requests = [torch.rand(1, dims[0]) for _ in range(pool)]
        theirs = {}
        for depth in (1, 2, 3):
            run(model, dims, batch, 4, depth, requests)  # warm-up
            theirs[depth] = run(model, dims, batch, batches, depth, requests)
            print(f"  depth {depth}: {theirs[depth]:>9.0f} items/s")
    result = {"torch": torch.__version__, "items_s": {str(d): t for d, t in theirs.items()}}
    if ours is not None:
        bound = ours["bound_items_s"]
        best_ours = max(ours["items_s"].values())
        best_theirs = max(theirs.values())
        print("\ncomparison (same GPU, same sizes, same inputs)")
        print(" depth   accelrt items/s   torch items/s   accelrt/torch   accelrt/bound")
        for depth in (1, 2, 3):
            o = ours["items_s"][str(depth)]
            t = theirs[depth]
            print(f" {depth:>5} {o:>17.0f} {t:>15.0f} {o / t:>15.2f} {o / bound:>15.3f}")
        ratio = best_ours / best_theirs
        frac3 = ours["items_s"]["3"] / bound
        print(f"\nbest: accelrt {best_ours:.0f} items/s vs torch {best_theirs:.0f} items/s = {ratio:.2f}x "
              f"(target >= 1.0: {'met' if ratio >= 1.0 else 'NOT met'}); depth 3 at "
              f"{frac3:.3f} of the overlap bound (target >= 0.9: {'met' if frac3 >= 0.9 else 'NOT met'})")
        result.update({"ratio": ratio, "depth3_fraction_of_bound": frac3})
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
