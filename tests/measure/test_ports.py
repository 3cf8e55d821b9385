"""Loopback ports: free ones are distinct, and a listener's port reads as taken until it closes."""

import socket

from fwbench.measure.ports import free_port, free_ports, port_is_free


def test_free_ports_are_distinct_and_a_listeners_port_is_taken_until_it_closes():
    ports = free_ports(4)
    assert len(set(ports)) == 4 and all(port_is_free(p) for p in ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", free_port()))
        s.listen()
        taken = s.getsockname()[1]
        assert not port_is_free(taken)
    assert port_is_free(taken)
