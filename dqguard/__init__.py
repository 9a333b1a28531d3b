"""dqguard: a CI guard against shared dequantize nodes in PT2E-quantized graphs."""

__version__ = "0.2.0"
