"""The reference: a bare grpcio server with EstimatorService's methods and fixed answers.

Same generated servicer base, same request parsing and the same thread-pool size as the
service (16 workers), but the handler returns a prebuilt response: what grpcio itself costs
per call for a response of the size the service sends. `--fail-with CODE` answers every call
with that status instead (HTTP 200 with a grpc-status trailer), which the harness must reject.

    python -m scripts.bench.reference_server --port 0 --unary FILE --batch FILE
"""

from __future__ import annotations

import argparse
import signal
import sys
from concurrent import futures
from pathlib import Path
from types import FrameType

import grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc


class FixedAnswers(pb_grpc.EstimatorServiceServicer):
    """Returns the same response for every request (or fails every call)."""

    def __init__(
        self,
        unary: pb.EstimateSessionResponse,
        batch: pb.EstimateSessionsResponse,
        fail_with: grpc.StatusCode | None,
    ) -> None:
        self._unary = unary
        self._batch = batch
        self._fail_with = fail_with

    def EstimateSession(
        self, request: pb.EstimateSessionRequest, context: grpc.ServicerContext
    ) -> pb.EstimateSessionResponse:
        if self._fail_with is not None:
            context.abort(self._fail_with, "the reference server was told to fail")
        return self._unary

    def EstimateSessions(
        self, request: pb.EstimateSessionsRequest, context: grpc.ServicerContext
    ) -> pb.EstimateSessionsResponse:
        if self._fail_with is not None:
            context.abort(self._fail_with, "the reference server was told to fail")
        return self._batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--unary", type=Path, help="serialized EstimateSessionResponse")
    parser.add_argument("--batch", type=Path, help="serialized EstimateSessionsResponse")
    parser.add_argument("--max-workers", type=int, default=16)
    parser.add_argument("--fail-with", help="a grpc status name, e.g. INTERNAL")
    args = parser.parse_args(argv)
    unary = pb.EstimateSessionResponse.FromString(args.unary.read_bytes() if args.unary else b"")
    batch = pb.EstimateSessionsResponse.FromString(args.batch.read_bytes() if args.batch else b"")
    fail = grpc.StatusCode[args.fail_with] if args.fail_with else None
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.max_workers))
    pb_grpc.add_EstimatorServiceServicer_to_server(  # type: ignore[no-untyped-call]
        FixedAnswers(unary, batch, fail), server
    )
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    if port == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 1
    server.start()
    print(f"listening on {args.host}:{port}", flush=True)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        server.stop(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main())
