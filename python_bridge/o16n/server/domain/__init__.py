"""The server's domain: the rules of services, sessions, snapshots and batch, above store and runtime."""
