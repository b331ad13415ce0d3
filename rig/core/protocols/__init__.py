"""Wire codecs shared by the device side (emulators) and the host side (kiosk drivers, checks)."""
