"""accelrt inside Ray: a callable class for Ray Data's ``map_batches`` and a Ray Serve
application, each holding one accelrt runtime per actor or replica.

Ray does what it is good at across machines (placement, retries, node loss); accelrt does
what it is good at inside each actor: every row of a batch is its own request, batched,
overlapped and run on all of the actor's model instances. Importing this module does not
import Ray (``pip install ./python[ray]`` installs it).

Batch inference over a dataset::

    import ray, accelrt.ray

    ds = ray.data.read_parquet("s3://bucket/images.parquet")       # a column "x": [N, 3, H, W] rows
    out = ds.map_batches(
        accelrt.ray.Predictor,
        fn_constructor_kwargs={"model": "model.onnx", "instances": 2, "max_batch": 8},
        concurrency=4,           # actors
        batch_size=64,
    )

Why the device stays busy across Ray batches: ``Predictor.__call__`` is a coroutine, so Ray
Data runs it on an event loop inside the actor with several batches in flight at once (up to
``RAY_DATA_DEFAULT_ASYNC_BATCH_UDF_MAX_CONCURRENCY``, 4 by default). While one batch's last
rows finish, the next batch's rows are already queued in the runtime, so the engine never
waits for Ray to hand over the next batch. Within a batch, rows keep their order.

Online serving::

    from ray import serve
    serve.run(accelrt.ray.serve_app("model.onnx", max_batch=8, batch_timeout=0.002))

Each replica holds one runtime; concurrent HTTP requests to a replica batch together in it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import numpy as np

import accelrt

__all__ = ["Predictor", "OcrPredictor", "serve_app", "Server"]

Columns = Union[str, Mapping[str, str], None]
RuntimeFactory = Callable[[], Any]


def _make_runtime(model: Any, runtime_kwargs: Dict[str, Any]) -> Any:
    if callable(model) and not isinstance(model, (str, bytes)):
        return model()
    return accelrt.Runtime.onnx(model, **runtime_kwargs)


def _mapping(given: Columns, names: List[str], what: str) -> Dict[str, str]:
    """Model tensor name → column name."""
    if given is None:
        return {n: n for n in names}
    if isinstance(given, str):
        if len(names) != 1:
            raise ValueError(f"the model has {len(names)} {what}s ({names}); give a dict of {what} name → column")
        return {names[0]: given}
    unknown = set(given) - set(names)
    if unknown:
        raise ValueError(f"unknown model {what}s {sorted(unknown)}; the model's are {names}")
    return {n: given.get(n, n) for n in names}


class _Timing:
    """Per-actor counters for the benchmark and for logs: time inside ``__call__`` and the gaps
    between calls (time the actor waited for Ray to hand it a batch)."""

    def __init__(self) -> None:
        self.batches = 0
        self.rows = 0
        self.in_flight = 0
        self.busy_since: Optional[float] = None
        self.busy = 0.0
        self.idle_since: Optional[float] = time.perf_counter()
        self.waits: List[float] = []
        self.started = time.perf_counter()

    def enter(self, rows: int) -> None:
        now = time.perf_counter()
        if self.in_flight == 0:
            self.busy_since = now
            if self.idle_since is not None and self.batches:
                self.waits.append(now - self.idle_since)
        self.in_flight += 1
        self.batches += 1
        self.rows += rows

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            now = time.perf_counter()
            self.busy += now - (self.busy_since or now)
            self.idle_since = now

    def snapshot(self) -> Dict[str, float]:
        wall = time.perf_counter() - self.started
        return {
            "batches": self.batches,
            "rows": self.rows,
            "busy_fraction": self.busy / wall if wall > 0 else 0.0,
            "mean_wait": float(np.mean(self.waits)) if self.waits else 0.0,
        }


class Predictor:
    """A callable class for ``Dataset.map_batches``: one accelrt runtime per actor, each row of a
    Ray batch one request.

    Args:
        model: path of an ONNX model, or a function returning an accelrt runtime (for
            ``Runtime.sim`` or settings of your own).
        input_columns: which column feeds which model input: a column name for a one-input
            model, a dict of input name → column, or None (columns named like the inputs).
            Each row of a column is one request's input (a row of shape ``(3, H, W)`` becomes
            ``(1, 3, H, W)``).
        output_columns: where outputs go: a column name for a one-output model, a dict of
            output name → column, or None (the outputs' names).
        on_error: ``"raise"`` (a bad row fails the Ray task; Ray retries it and then fails the
            dataset) or ``"record"`` (the batch goes on: a string column ``error`` holds the
            row's error, empty when it succeeded, and its outputs are zeros).
        drop_inputs: leave the input columns out of the output batch (saves copying them).
        **runtime_kwargs: settings for ``Runtime.onnx`` (``instances``, ``max_batch``,
            ``batch_timeout``, ``parallel``, ``depth``, ``intra_threads``, ``providers``...).
            Defaults here: ``max_batch=8``, ``batch_timeout=0.002``, ``parallel=2``,
            ``depth=2``.

    The output batch has every input column (unless ``drop_inputs``) plus the output columns,
    rows in input order.
    """

    def __init__(
        self,
        model: Union[str, Any, RuntimeFactory],
        *,
        input_columns: Columns = None,
        output_columns: Columns = None,
        on_error: str = "raise",
        drop_inputs: bool = False,
        **runtime_kwargs: Any,
    ) -> None:
        if on_error not in ("raise", "record"):
            raise ValueError(f'on_error must be "raise" or "record", got {on_error!r}')
        settings = {"max_batch": 8, "batch_timeout": 0.002, "parallel": 2, "depth": 2}
        settings.update(runtime_kwargs)
        self.runtime = _make_runtime(model, settings)
        self._inputs = _mapping(input_columns, [t["name"] for t in self.runtime.inputs], "input")
        self._outputs = _mapping(output_columns, [t["name"] for t in self.runtime.outputs], "output")
        self._on_error = on_error
        self._drop_inputs = drop_inputs
        self.timing = _Timing()

    def _request(self, batch: Mapping[str, np.ndarray], i: int) -> Any:
        rows = {name: np.asarray(batch[col][i])[None, ...] for name, col in self._inputs.items()}
        return rows[next(iter(rows))] if len(rows) == 1 else rows

    async def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        missing = [c for c in self._inputs.values() if c not in batch]
        if missing:
            raise KeyError(f"the batch has no column {missing[0]!r} (columns: {sorted(batch)})")
        n = len(batch[next(iter(self._inputs.values()))])
        self.timing.enter(n)
        try:
            tasks = [self.runtime.run(self._request(batch, i)) for i in range(n)]
            results = await asyncio.gather(*tasks, return_exceptions=self._on_error == "record")
        finally:
            self.timing.leave()
        out = {k: v for k, v in batch.items() if not (self._drop_inputs and k in self._inputs.values())}
        out.update(self._columns(results))
        return out

    def _columns(self, results: List[Any]) -> Dict[str, np.ndarray]:
        names = list(self._outputs)
        good = next((r for r in results if not isinstance(r, BaseException)), None)
        columns: Dict[str, np.ndarray] = {}
        errors = [("" if not isinstance(r, BaseException) else f"{type(r).__name__}: {r}") for r in results]
        for name in names:
            if good is None:
                columns[self._outputs[name]] = np.zeros((len(results),), np.float32)
                continue
            template = good if not isinstance(good, dict) else good[name]
            rows = []
            for r in results:
                if isinstance(r, BaseException):
                    rows.append(np.zeros_like(template))
                else:
                    rows.append(r if not isinstance(r, dict) else r[name])
            columns[self._outputs[name]] = np.concatenate(rows, axis=0)
        if self._on_error == "record":
            columns["error"] = np.array(errors, dtype=object)
        return columns

    def stats(self) -> Dict[str, Any]:
        """The runtime's stats and the actor's timing (busy fraction, mean wait between
        batches)."""
        return {"runtime": self.runtime.stats().as_dict(), "actor": self.timing.snapshot()}


class OcrPredictor:
    """A callable class for ``Dataset.map_batches`` that reads text: one ``accelrt.ocr.Reader``
    per actor, each image of a Ray batch one request.

    Args:
        image_column: the column holding images: PNG/JPEG bytes (``ray.data.read_binary_files``),
            paths, or uint8 (height, width, 3) arrays.
        on_error: as for :class:`Predictor`.
        drop_images: leave the image column out of the output (default True: it is large).
        **reader_kwargs: settings for ``accelrt.ocr.Reader``.

    Adds the columns ``text`` (the page's lines joined by newlines), ``lines`` (list of
    strings), ``scores`` (list of floats), ``boxes`` (list of four (x, y) corners per line),
    ``width`` and ``height``.
    """

    def __init__(self, *, image_column: str = "bytes", on_error: str = "raise", drop_images: bool = True, **reader_kwargs: Any) -> None:
        import accelrt.ocr

        if on_error not in ("raise", "record"):
            raise ValueError(f'on_error must be "raise" or "record", got {on_error!r}')
        self.reader = accelrt.ocr.Reader(**reader_kwargs)
        self._column = image_column
        self._on_error = on_error
        self._drop = drop_images
        self.timing = _Timing()

    async def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, Any]:
        images = batch[self._column]
        self.timing.enter(len(images))
        try:
            tasks = [self.reader.run(_image(img)) for img in images]
            pages = await asyncio.gather(*tasks, return_exceptions=self._on_error == "record")
        finally:
            self.timing.leave()
        out: Dict[str, Any] = {k: v for k, v in batch.items() if not (self._drop and k == self._column)}
        ok = [p if not isinstance(p, BaseException) else None for p in pages]
        out["text"] = np.array([p.text if p else "" for p in ok], dtype=object)
        out["lines"] = _object_column([[line.text for line in p.lines] if p else [] for p in ok])
        out["scores"] = _object_column([[line.score for line in p.lines] if p else [] for p in ok])
        out["boxes"] = _object_column([[[list(c) for c in line.box] for line in p.lines] if p else [] for p in ok])
        out["width"] = np.array([p.width if p else 0 for p in ok], dtype=np.int64)
        out["height"] = np.array([p.height if p else 0 for p in ok], dtype=np.int64)
        if self._on_error == "record":
            out["error"] = np.array(["" if not isinstance(p, BaseException) else f"{type(p).__name__}: {p}" for p in pages], dtype=object)
        return out


def _object_column(values: List[Any]) -> np.ndarray:
    """A 1-D object array of lists (``np.array`` would try to make the lists a dimension)."""
    column = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        column[i] = v
    return column


def _image(value: Any) -> Any:
    # Ray gives binary columns as bytes and string columns as str; arrays stay arrays.
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value.item()
    return value


class Server:
    """The Ray Serve deployment class behind :func:`serve_app` (one runtime per replica).

    HTTP: ``POST`` a JSON body ``{"inputs": ...}`` (an array as nested lists for a one-input
    model, or a dict of input name → nested lists; dtypes come from the model) and get
    ``{"outputs": ...}`` back the same way; ``GET`` returns the runtime's stats. Python callers
    with a ``DeploymentHandle`` call ``handle.predict.remote(x)`` with numpy arrays.
    """

    def __init__(self, model: Union[str, RuntimeFactory], runtime_kwargs: Dict[str, Any]) -> None:
        self.runtime = _make_runtime(model, runtime_kwargs)
        self._dtypes = {t["name"]: np.dtype(t["dtype"]) for t in self.runtime.inputs}

    async def predict(self, x: Any) -> Any:
        """One request (numpy in, numpy out), batched with every other request to this replica."""
        return await self.runtime.run(x)

    def _arrays(self, inputs: Any) -> Any:
        if isinstance(inputs, dict):
            return {k: np.asarray(v, dtype=self._dtypes.get(k)) for k, v in inputs.items()}
        (dtype,) = list(self._dtypes.values())[:1] or [None]
        return np.asarray(inputs, dtype=dtype)

    async def __call__(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        if request.method == "GET":
            return JSONResponse(self.runtime.stats().as_dict())
        try:
            body = await request.json()
            x = self._arrays(body["inputs"])
        except (ValueError, KeyError, TypeError) as e:
            return JSONResponse({"error": f'expected a JSON body {{"inputs": ...}}: {e}'}, status_code=400)
        try:
            y = await self.runtime.run(x)
        except accelrt.InvalidInputError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        except (accelrt.QueueFullError, accelrt.ShutDownError, accelrt.TimedOutError) as e:
            return JSONResponse({"error": str(e)}, status_code=503)
        except accelrt.AccelrtError as e:
            return JSONResponse({"error": str(e)}, status_code=500)
        outputs = {k: v.tolist() for k, v in y.items()} if isinstance(y, dict) else y.tolist()
        return JSONResponse({"outputs": outputs})


def serve_app(
    model: Union[str, RuntimeFactory],
    *,
    name: str = "accelrt",
    num_replicas: Union[int, str] = 1,
    max_ongoing_requests: int = 256,
    ray_actor_options: Optional[Dict[str, Any]] = None,
    **runtime_kwargs: Any,
) -> Any:
    """A Ray Serve application whose replicas each hold one accelrt runtime on ``model`` (a
    path or a function returning a runtime): ``serve.run(serve_app("model.onnx",
    max_batch=8))``. ``max_ongoing_requests`` is how many requests Serve lets into one replica
    at once: keep it well above ``max_batch`` so that batches can fill.
    ``runtime_kwargs`` go to ``Runtime.onnx``.
    """
    from ray import serve

    deployment = serve.deployment(
        name=name,
        num_replicas=num_replicas,
        max_ongoing_requests=max_ongoing_requests,
        ray_actor_options=ray_actor_options or {"num_cpus": 1},
    )(Server)
    return deployment.bind(model, runtime_kwargs)
