"""The rig's core: clock, evidence, codecs (protocols), PKI, drivers, transport and
the other parts the emulators and the reports import. The core imports nothing of the
harness, the emulators or the reports (import-linter keeps it; docs/architecture.md)."""
