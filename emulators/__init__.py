"""Emulated parties. Each package: its model, its transport/server, its faults.

An emulator never imports another emulator (import-linter keeps it); they meet only through
`rig.core.protocols` and the rest of `rig.core`.
"""
