"""Emulated parties. Each package: its model, its transport/server, its faults.

An emulator never imports another emulator; they meet only through `rig.core.protocols` and `rig`.
"""
