"""Registry of HTTP servers the serving experiment can put a model behind: one module per server, found by file name.

`frontend` is fwbench's own (uvicorn + Starlette, any runtime); the others are
framework-native servers (TorchServe, TensorFlow Serving) that run where they
are installed. Adding a server is adding one file here with a `Server` subclass.
"""

from __future__ import annotations

from pathlib import Path

from fwbench.errors import ServerUnavailable
from fwbench.experiments.serving.servers.base import (
    Launch,
    ServeOptions,
    Server,
    ServerProcess,
    free_port,
    port_is_free,
)
from fwbench.plugins import module_names, single_subclass

__all__ = [
    "Launch",
    "ServeOptions",
    "Server",
    "ServerProcess",
    "ServerUnavailable",
    "free_port",
    "port_is_free",
    "names",
    "get_server",
]

_HERE = Path(__file__).parent


def names() -> list[str]:
    return module_names(_HERE)


def get_server(name: str) -> Server:
    if name not in names():
        raise KeyError(f"unknown server {name!r}; known: {', '.join(names())}")
    return single_subclass(f"fwbench.experiments.serving.servers.{name}", Server)()
