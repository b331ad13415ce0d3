"""Builders for the nightly conformance report (output goes to a git-ignored folder)."""
