"""The performance harness: `.venv/bin/python -m scripts.bench` (docs/performance.md).

It builds varied gRPC-framed request bodies over the published plans, starts the project's
server and a bare grpcio reference server, drives both with h2load (Debian nghttp2-client)
in interleaved rounds, compares one decision with GoRules ZEN in process, measures start-up,
publishing and memory on a generated 10,000-plan corpus, and prints every ratio with its
median and range across rounds. Speed is measured here and nowhere in the test suite.
"""
