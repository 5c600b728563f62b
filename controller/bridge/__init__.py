"""The MQTT bridge: a process of its own between the control port and a fleet's broker."""
