"""One module per paper figure or group of figures; `base` holds what they share (see its docstring)."""
