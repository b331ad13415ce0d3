"""Test PKIs made with `cryptography` in the run's working folder (no secret is committed)."""
