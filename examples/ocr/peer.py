"""The Python peer of `examples/ocr.rs --bench`: rapidocr-onnxruntime (the same PP-OCRv4
models) with its default settings, one image at a time.

Usage: python ocr_peer.py LIST_FILE   (one image path per line)

Prints one JSON object: {"seconds": wall time over all images after one warm-up image,
"images": [[line text, ...] per image, in input order]}. The example installs the package
into a virtual environment of its own and runs this script there.
"""

import json
import sys
import time

from rapidocr_onnxruntime import RapidOCR


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        paths = [line.strip() for line in f if line.strip()]
    engine = RapidOCR()
    # Warm up once, as the Rust side does, so neither timing holds first-run allocation.
    engine(paths[0])
    texts = []
    start = time.perf_counter()
    for path in paths:
        result, _ = engine(path)
        texts.append([line[1] for line in (result or [])])
    seconds = time.perf_counter() - start
    json.dump({"seconds": seconds, "images": texts}, sys.stdout)


if __name__ == "__main__":
    main()
