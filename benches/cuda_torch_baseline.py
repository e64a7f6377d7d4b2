"""PyTorch doing the work of `examples/cuda_bench.rs`, the way its docs suggest.

Per batch: gather the requests into a pinned host tensor, copy it to the GPU with
`non_blocking=True` on one of `depth` CUDA streams, run the same MLP (Linear + ReLU layers of
the same sizes, fp32, TF32 off like cuBLAS's default), copy the result back into pinned memory
with `non_blocking=True`, and read it once the stream's event has completed. Streams are used
round-robin so copies of one batch overlap another's kernels, as in the accelrt slots.

    python3 benches/cuda_torch_baseline.py --from target/cuda_bench.json

With `--from`, the sizes come from the Rust run's results and a comparison is printed.
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
        torch.cat(requests[i * batch:(i + 1) * batch], out=staging[s])  # collate into pinned memory
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
    p.add_argument("--from", dest="source", help="JSON results of examples/cuda_bench.rs")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--dims", type=str, default="4096,4096,4096")
    p.add_argument("--batches", type=int, default=64)
    a = p.parse_args()
    ours = None
    if a.source:
        with open(a.source) as f:
            ours = json.load(f)
        batch, dims = ours["batch"], ours["dims"]
    else:
        batch, dims = a.batch, [int(d) for d in a.dims.split(",")]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}: MLP {dims}, batch {batch}")
    with torch.inference_mode():
        model = build_mlp(dims)
        requests = [torch.rand(1, dims[0]) for _ in range(batch * a.batches)]
        theirs = {}
        for depth in (1, 2, 3):
            run(model, dims, batch, 4, depth, requests)  # warm-up
            theirs[depth] = run(model, dims, batch, a.batches, depth, requests)
            print(f"  depth {depth}: {theirs[depth]:>9.0f} items/s")
    if ours is None:
        return
    bound = ours["bound_items_s"]
    best_ours = max(ours["items_s"].values())
    best_theirs = max(theirs.values())
    print("\ncomparison (same GPU, same sizes)")
    print(" depth   accelrt items/s   torch items/s   accelrt/torch   accelrt/bound")
    for depth in (1, 2, 3):
        o = ours["items_s"][str(depth)]
        t = theirs[depth]
        print(f" {depth:>5} {o:>17.0f} {t:>15.0f} {o / t:>15.2f} {o / bound:>15.3f}")
    ratio = best_ours / best_theirs
    frac = best_ours / bound
    print(f"\nbest: accelrt {best_ours:.0f} items/s vs torch {best_theirs:.0f} items/s = {ratio:.2f}x "
          f"(target >= 1.0: {'met' if ratio >= 1.0 else 'NOT met'}); "
          f"{frac:.3f} of the overlap bound (target >= 0.9: {'met' if frac >= 0.9 else 'NOT met'})")


if __name__ == "__main__":
    main()
