"""The rig's harness: builds worlds of parties (world), runs plans (runner, cli,
pytest_plugin), and the commands around them (serve, soak, bench, demand, validation).
It may import the core, the emulators and the reports (docs/architecture.md)."""
