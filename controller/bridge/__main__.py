"""`python -m controller.bridge`: the MQTT bridge for a running control process.

python -m controller.bridge --control SOCKET --machine NAME_OR_PATH [--mqtt mqtt://HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from controller.bridge.bridge import FLUSH_AT_END_S, BridgeDied, MqttBridge
from controller.bridge.process import mqtt_config
from controller.bridge.uploads import RecordingUploader
from controller.config import ConfigError, load_machine

EXIT_GRACE_S = FLUSH_AT_END_S + 5.0  # the flush of what is queued comes first


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controller.bridge", description=__doc__)
    parser.add_argument("--control", required=True, type=Path, help="the control process's socket")
    parser.add_argument("--machine", required=True, help="machine file (its [mqtt] section): name or path")
    parser.add_argument("--mqtt", help="broker URL, overriding the machine file's mqtt.url")
    parser.add_argument("--parent", type=int, help="exit when this process is gone")
    parser.add_argument(
        "--store", type=Path, help="the session store: for the caps a site sends, the recordings sent to it"
    )
    args = parser.parse_args(argv)
    try:
        machine = load_machine(args.machine)
        config = mqtt_config(machine, args.mqtt)
    except ConfigError as exc:
        print(f"eccentrix bridge: {exc}", file=sys.stderr)
        return 2
    if config is None:
        print("eccentrix bridge: no broker: give --mqtt or an [mqtt] section", file=sys.stderr)
        return 2
    machine_id = config.machine_id or machine.name
    bridge = MqttBridge(config, machine_id, args.control, args.store)
    if machine.site and machine.site.upload_recordings and args.store and bridge.key:
        bridge.uploader = RecordingUploader(machine.site, machine_id, bridge.key, args.store)
    try:
        asyncio.run(_run(bridge, args.parent))
    except BridgeDied as exc:
        print(f"eccentrix bridge: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run(bridge: MqttBridge, parent: int | None) -> None:
    # Through the event loop, so the signal wakes it: a plain handler setting the event left the
    # loop asleep in epoll with nothing scheduled.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, bridge.ended.set)

    async def watch_parent() -> None:
        while parent is not None and os.getppid() == parent:
            await asyncio.sleep(1.0)
        if parent is not None:
            bridge.ended.set()

    async def exit_in_time() -> None:
        """Once asked to end, the bridge has EXIT_GRACE_S to flush and close. A broker connection
        that never finishes closing (seen once: the shutdown waited forever on a cancelled task)
        must not keep a dead machine's bridge alive."""
        await bridge.ended.wait()
        timer = threading.Timer(EXIT_GRACE_S, os._exit, args=(0,))
        timer.daemon = True
        timer.start()

    watchers = [asyncio.create_task(watch_parent()), asyncio.create_task(exit_in_time())]
    await bridge.run()
    for watcher in watchers:
        watcher.cancel()


if __name__ == "__main__":
    sys.exit(main())
