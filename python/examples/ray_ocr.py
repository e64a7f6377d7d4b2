"""Text in a folder of images, past one machine: Ray Data reads the files, accelrt actors
detect and read the text (PP-OCRv4), and the results go to one Parquet file.

    python python/examples/ray_ocr.py IMAGES_DIR [--out results.parquet] [--actors 2] [--batch 16]

The same script runs on a laptop (``ray.init()`` starts a local Ray) and on a cluster: with
``RAY_ADDRESS`` set (or ``ray start --address ...`` on this machine), ``ray.init()`` joins that
cluster and the actors spread over its nodes. Each actor holds one ``accelrt.ocr.Reader``; the
images of a Ray batch are read concurrently and the lines of every image in flight share the
actor's recogniser. Without an images folder, ``--demo N`` renders N pages to read (needs
Pillow).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq
import ray

import accelrt.ray


def demo_pages(folder: pathlib.Path, n: int) -> None:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=36)
    for i in range(n):
        image = Image.new("RGB", (800, 240), (255, 255, 250))
        draw = ImageDraw.Draw(image)
        draw.text((30, 30), f"Order {1000 + i}", fill=(10, 10, 10), font=font)
        draw.text((30, 120), f"Amount due {i * 7 % 100}.{i % 100:02d} EUR", fill=(10, 10, 10), font=font)
        image.save(folder / f"page{i:04d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="?", help="folder of PNG/JPEG files")
    parser.add_argument("--out", default="ocr_results.parquet", help="the Parquet file to write")
    parser.add_argument("--actors", type=int, default=2, help="accelrt actors (one reader each)")
    parser.add_argument("--cpus-per-actor", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=16, help="images per Ray batch")
    parser.add_argument("--demo", type=int, default=0, help="render this many pages instead of reading a folder")
    args = parser.parse_args()

    folder = args.images
    if args.demo:
        folder = tempfile.mkdtemp(prefix="accelrt-ocr-demo-")
        demo_pages(pathlib.Path(folder), args.demo)
    if not folder:
        parser.error("give an images folder or --demo N")

    # Local Ray, or the cluster named by RAY_ADDRESS.
    ray.init()
    started = time.perf_counter()
    ds = ray.data.read_binary_files(folder, include_paths=True, file_extensions=["png", "jpg", "jpeg"])
    pages = ds.map_batches(
        accelrt.ray.OcrPredictor,
        fn_constructor_kwargs={"image_column": "bytes", "on_error": "record"},
        compute=ray.data.ActorPoolStrategy(size=args.actors, max_concurrent_calls_per_actor=2),
        num_cpus=args.cpus_per_actor,
        batch_size=args.batch,
    )
    # One file: the rows come back to the driver in a stream and are written together.
    table = pa.Table.from_pylist(
        [
            {
                "path": row["path"],
                "text": row["text"],
                "lines": list(row["lines"]),
                "scores": [float(s) for s in row["scores"]],
                "boxes": [[list(map(float, c)) for c in box] for box in row["boxes"]],
                "width": int(row["width"]),
                "height": int(row["height"]),
                "error": row["error"],
            }
            for row in pages.iter_rows()
        ]
    )
    table = table.sort_by("path")
    pq.write_table(table, args.out)
    took = time.perf_counter() - started
    failed = sum(1 for e in table.column("error").to_pylist() if e)
    print(f"{table.num_rows} images ({failed} failed) in {took:.1f} s -> {os.path.abspath(args.out)}")
    for path, text in list(zip(table.column("path").to_pylist(), table.column("text").to_pylist()))[:3]:
        print(f"{os.path.basename(path)}: {text!r}")


if __name__ == "__main__":
    main()
