"""Ports: the Protocols the application needs from the outside world (store, clock, market data).

Adapters implement them; tests and the demo use in-memory or file-backed fakes.
"""
