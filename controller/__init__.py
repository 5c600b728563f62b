"""eccentrix controller: drives a torque-mode servo so that lowering is heavier than lifting."""

__version__ = "0.1.0"
