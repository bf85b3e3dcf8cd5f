"""gre: a tool-augmented geolocation reasoner for photos."""

__version__ = "0.1.0"
