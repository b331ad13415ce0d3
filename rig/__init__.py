"""Konbini issuance rig: emulation and conformance test rig for コンビニ交付."""

__version__ = "0.1.0"
