"""An aiomqtt client for a configured broker: its login, TLS and no Nagle, as the machine's bridge
and the site's workers both connect."""

from __future__ import annotations

import socket
from typing import Any

import aiomqtt

from controller.config.mqtt import BrokerConfig

# Small messages go out at once. With Nagle's algorithm on at either end (here, or the broker
# without `set_tcp_nodelay true`), every e-stop's answer waited 40 ms on a delayed ACK.
NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def broker_client(config: BrokerConfig, identifier: str, **options: Any) -> aiomqtt.Client:
    password = config.password_file.read_text().strip() if config.password_file else None
    tls = None
    if config.uses_tls:
        t = config.tls
        ca, cert, key = (t.ca_file, t.cert_file, t.key_file) if t else (None, None, None)
        tls = aiomqtt.TLSParameters(
            ca_certs=str(ca) if ca else None,
            certfile=str(cert) if cert else None,
            keyfile=str(key) if key else None,
        )
    return aiomqtt.Client(
        config.host,
        config.port,
        username=config.username,
        password=password,
        identifier=identifier,
        tls_params=tls,
        socket_options=[NO_DELAY],
        **options,
    )
