"""One object per process for each distinct configuration: models and clients are costly to
build (seconds, hundreds of MB), and every job of a worker must share them."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def per_settings(*keys: str) -> Callable[[Callable[[Mapping[str, Any]], T]], Callable]:
    """Build with `factory(settings)` once per distinct value of `keys` in the settings."""

    def decorate(factory: Callable[[Mapping[str, Any]], T]) -> Callable[[Mapping[str, Any]], T]:
        built: dict[tuple, T] = {}
        lock = threading.Lock()

        @functools.wraps(factory)
        def get(settings: Mapping[str, Any]) -> T:
            key = tuple(settings.get(k) for k in keys)
            with lock:
                if key not in built:
                    built[key] = factory(settings)
                return built[key]

        return get

    return decorate
