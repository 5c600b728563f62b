"""The web dashboard: its own process, talking to the control process over the control port."""
