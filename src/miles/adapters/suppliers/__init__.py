"""Suppliers of awards: award-seat inventory, hotels, baggage; the protocol and the simulated ones."""
