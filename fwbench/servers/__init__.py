"""Registry of HTTP servers the serving experiment can put a model behind: one module per server, found by file name.

`frontend` is fwbench's own (uvicorn + Starlette, any runtime); the others are
framework-native servers (TorchServe, TensorFlow Serving) that run where they
are installed. Adding a server is adding one file here with a `Server` subclass.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fwbench.servers.base import Launch, ServeOptions, Server, ServerProcess, ServerUnavailable, free_port, port_is_free

__all__ = ["Launch", "ServeOptions", "Server", "ServerProcess", "ServerUnavailable", "free_port", "port_is_free",
           "names", "get_server"]

_HERE = Path(__file__).parent


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(_HERE)]) if m.name != "base" and not m.name.startswith("_"))


def get_server(name: str) -> Server:
    if name not in names():
        raise KeyError(f"unknown server {name!r}; known: {', '.join(names())}")
    module = importlib.import_module(f"fwbench.servers.{name}")
    classes = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, Server) and c is not Server]
    if len(classes) != 1:
        raise TypeError(f"fwbench/servers/{name}.py must define exactly one Server subclass")
    return classes[0]()
