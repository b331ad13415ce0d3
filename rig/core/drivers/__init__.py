"""Host-side drivers: the kiosk's side of each device link (reference kiosk, checks)."""
