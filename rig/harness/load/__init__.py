"""Load campaigns on Locust (`rig load`, docs/load.md).

Modules: profile (traffic profiles), kit (what workers need), world_process (the world in its
own process), judge (whose data is on each page), tally (counts and their merge), users (the
Locust users), campaign (local/master/worker runtime), report (load.json, plots, HTML).
Only users and campaign import Locust (and so gevent's monkey-patching).
"""
