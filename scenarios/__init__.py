"""Conformance scenarios (pytest), one module per area."""
