"""Prometheus metrics kept in Redis: workers write counters, the API's `/metrics` reads them."""
