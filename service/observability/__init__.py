"""Observability of the running service: structured logs, Prometheus metrics and tracing.

Kept out of the domain and the use cases: the gRPC interceptor that feeds all three lives in
service.api.observability, and service.app wires them together.
"""
