"""The ports that db/ and providers/ implement live in domain/ports.py and domain/*/ports.py."""
