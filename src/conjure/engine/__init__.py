"""The engine: hashing, state, graph, status, scheduling. It never prints; it emits events."""
