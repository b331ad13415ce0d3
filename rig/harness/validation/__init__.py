"""Trustworthy results: the order of the pre-go-live tests and the signed validation package.

- `ledger`: which staged plans a device passed, in which order (one JSON-lines file, locked);
- `marker`: what `rig run` leaves in a report folder once a run has finished;
- `signing`: the operator's key and certificate, signatures and trust;
- `package`: `rig package create` / `verify` (docs/validation-package.md).

The stages themselves, the seed's test sequence (II.3 (9), II.5) per kind of device under
test, are rig/harness/stages.py: the plans name theirs, and this package records them.
"""
