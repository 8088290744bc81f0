"""The pure domain core: rule model, units, cost engine and plan projection.

Nothing here imports grpc, protobuf or a database; adapters translate at the edges.
"""
