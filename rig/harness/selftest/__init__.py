"""`rig selftest`: the defect pack, run against the plans that should catch it.

`pack` names every defective variant (of the reference kiosk and of the emulated issuance
server) with the incident or area it stands for and the requirements it targets; `variants`
picks the classes a world builds from the topology's `defects:` list; `runner` runs each
variant in worlds of its own and `matrix` writes the detection matrix (docs/selftest.md).
"""
