"""The exceptions accelrt raises, one class per kind of failure.

Every request resolves exactly once: with its result, or with one of these. Catch them by kind::

    try:
        y = rt.run(x).wait()
    except accelrt.InvalidInputError as e:   # also a ValueError
        print(e.input, e.expected, e.got)
    except accelrt.QueueFullError:           # back off and retry
        ...
    except TimeoutError:                     # accelrt.TimedOutError is one
        ...

All of them derive from :class:`AccelrtError`. They pickle (Ray ships them between processes).
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Optional

__all__ = [
    "AccelrtError",
    "InvalidInputError",
    "QueueFullError",
    "TimedOutError",
    "CancelledError",
    "ShutDownError",
    "BackendError",
    "BackendPanicError",
    "StageError",
    "ConfigError",
    "DeviceUnavailableError",
    "InternalError",
]


class AccelrtError(Exception):
    """Base class of every accelrt error."""

    def __reduce__(self) -> Any:
        # args holds the message; keyword fields travel in __dict__.
        return (type(self), self.args, self.__dict__)


class InvalidInputError(AccelrtError, ValueError):
    """The input does not match what the model expects; only this request fails.

    Attributes:
        input: the model input's name, or None when the request as a whole is wrong.
        expected: what the model takes, e.g. ``f32 [N, 3, H, W]``.
        got: what came, e.g. ``f64 [1, 3, 224, 224]``.
    """

    def __init__(
        self,
        message: str,
        *,
        input: Optional[str] = None,
        expected: Optional[str] = None,
        got: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.input = input
        self.expected = expected
        self.got = got


class QueueFullError(AccelrtError):
    """The runtime's queue was full (``try_run``, or ``overflow="reject"``).

    Attributes:
        capacity: the queue's capacity.
    """

    def __init__(self, message: str, *, capacity: Optional[int] = None) -> None:
        super().__init__(message)
        self.capacity = capacity


class TimedOutError(AccelrtError, TimeoutError):
    """The request did not start within its ``timeout``.

    Attributes:
        timeout: the timeout in seconds.
    """

    def __init__(self, message: str, *, timeout: Optional[float] = None) -> None:
        super().__init__(message)
        self.timeout = timeout


class CancelledError(AccelrtError, concurrent.futures.CancelledError):
    """The request was cancelled (``task.cancel()``) before it gave a result.

    Raised by ``task.wait()``. Awaiting a cancelled task raises ``asyncio.CancelledError``
    instead, as asyncio code expects.
    """


class ShutDownError(AccelrtError):
    """The runtime was closed (or garbage-collected) before the request could run."""


class BackendError(AccelrtError):
    """The backend (ONNX Runtime, the device) failed the batch this request was part of."""


class BackendPanicError(BackendError):
    """Backend code panicked on the batch this request was part of; the runtime keeps serving."""


class StageError(AccelrtError):
    """A pipeline stage failed for this input.

    Attributes:
        stage: the stage's name.
        error: what went wrong there (also the exception's ``__cause__``): the exception the
            stage's Python function raised, or the accelrt error of a runtime stage.
    """

    def __init__(self, message: str, *, stage: Optional[str] = None, error: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.error = error
        self.__cause__ = error


class ConfigError(AccelrtError, ValueError):
    """A setting was rejected when the runtime was built."""


class DeviceUnavailableError(AccelrtError):
    """The device, or the library that drives it, cannot be used."""


class InternalError(AccelrtError):
    """accelrt lost track of a request: a bug, reported rather than hung on."""
