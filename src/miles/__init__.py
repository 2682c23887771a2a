"""miles: the mileage engine of an airline frequent-flyer programme."""

__version__ = "0.1.0"
