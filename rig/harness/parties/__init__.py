"""The party kinds a world is built from (docs/architecture.md, "The party lifecycle")."""
