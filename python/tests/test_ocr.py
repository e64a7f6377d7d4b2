"""accelrt.ocr: text read from rendered images given as paths, bytes and arrays."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import accelrt
import accelrt.ocr

LINES = ["Invoice 2026-0417", "Total due: 1,284.50 EUR", "Paid by card"]


def render(lines, size=(900, 300), font_size=40) -> Image.Image:
    image = Image.new("RGB", size, (250, 248, 240))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    for i, text in enumerate(lines):
        draw.text((40, 30 + i * (font_size + 40)), text, fill=(20, 20, 30), font=font)
    return image


@pytest.fixture(scope="module")
def page_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pages")
    paths = []
    for k in range(3):
        lines = [f"{line} {k}" for line in LINES]
        p = d / f"page{k}.png"
        render(lines).save(p)
        paths.append((p, lines))
    return paths


def norm(s: str) -> str:
    return "".join(s.split()).lower()


def test_read_paths_in_order(page_files):
    pages = accelrt.ocr.read([p for p, _ in page_files])
    assert len(pages) == len(page_files)
    for page, (_, lines) in zip(pages, page_files):
        assert (page.width, page.height) == (900, 300)
        assert [norm(line.text) for line in page.lines] == [norm(t) for t in lines]
        for line in page.lines:
            assert 0.5 <= line.score <= 1.0 and 0.0 < line.box_score <= 1.0
            assert len(line.box) == 4
            assert all(0 <= x <= 900 and 0 <= y <= 300 for x, y in line.box)
            assert line.turned is False
        assert page.text.count("\n") == len(lines) - 1
        assert page.as_dict()["lines"][0]["text"] == page.lines[0].text


def test_read_one_image_as_path_bytes_or_array(page_files):
    path, lines = page_files[0]
    want = [norm(t) for t in lines]
    as_bytes = path.read_bytes()
    as_array = np.asarray(Image.open(io.BytesIO(as_bytes)).convert("RGB"))
    for image in (str(path), path, as_bytes, as_array):
        page = accelrt.ocr.read(image)
        assert [norm(line.text) for line in page.lines] == want


def test_a_bad_image_fails_alone(page_files, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    reader = accelrt.ocr.Reader()
    tasks = [reader.run(page_files[0][0]), reader.run(broken), reader.run(np.zeros((10, 10), np.uint8)), reader.run(tmp_path / "missing.png")]
    assert tasks[0].wait().lines
    for t in tasks[1:]:
        with pytest.raises(accelrt.AccelrtError) as info:
            t.wait()
        assert isinstance(info.value, (accelrt.InvalidInputError, accelrt.StageError)), info.value
    stats = reader.stats()
    assert [s.name for s in stats.stages] == ["decode", "detect", "crop", "recognize"]
    reader.close()


def test_reader_from_asyncio(page_files):
    import asyncio

    async def main():
        async with accelrt.ocr.Reader() as reader:
            return [page async for page in reader.map([p for p, _ in page_files])]

    pages = asyncio.run(main())
    assert [norm(p.lines[0].text) for p in pages] == [norm(lines[0]) for _, lines in page_files]
