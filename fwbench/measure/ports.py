"""Loopback ports for the servers and process groups a job starts: free ones to hand out, and whether one was released."""

from __future__ import annotations

import socket


def free_ports(n: int) -> list[int]:
    """n distinct ports on 127.0.0.1 that nothing listens on now (all bound to port 0 at once, read back, released,
    so no two are the same)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    return free_ports(1)[0]


def port_is_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:`port`. Connections closed a moment ago may linger in TIME_WAIT;
    SO_REUSEADDR lets the bind pass over those (a new server could bind too) but not over a listener."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
