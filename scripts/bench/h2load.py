"""Drive a gRPC method with h2load and refuse results that count gRPC errors as successes.

h2load speaks plain HTTP/2: it counts every HTTP 200 as a success, and a gRPC error is an
HTTP 200 too (the status travels in the `grpc-status` trailer, usually with no message at
all). So every measurement is checked twice:
- before it, each body is sent once through grpcio, which must answer grpc-status 0 with a
  message whose size is then expected;
- after it, h2load's own byte count must be exactly (5 + that size) per succeeded request:
  an error answer carries no message, a different answer a different size.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from scripts.bench.servers import BenchError, pinned

GRPC_HEADERS = ("content-type: application/grpc", "te: trailers")


def ensure_h2load() -> str:
    """The h2load binary; installs Debian's nghttp2-client when it is missing and we are root."""
    found = shutil.which("h2load")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        for cmd in (
            ["apt-get", "install", "-y", "-q", "nghttp2-client"],
            ["apt-get", "update", "-q"],  # an old package list: refresh and try once more
            ["apt-get", "install", "-y", "-q", "nghttp2-client"],
        ):
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if cmd[1] == "install" and done.returncode == 0:
                break
        found = shutil.which("h2load")
        if found:
            return found
    raise BenchError(
        "h2load is missing: install Debian's nghttp2-client (apt-get install nghttp2-client)"
    )


@dataclass(frozen=True)
class H2loadResult:
    seconds: float
    total: int
    succeeded: int
    failed: int
    errored: int
    timeout: int
    status_2xx: int
    data_bytes: int
    output: str

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0


_NUM = r"([0-9]+)"


def parse(output: str) -> H2loadResult:
    def grab(pattern: str) -> re.Match[str]:
        m = re.search(pattern, output)
        if m is None:
            raise BenchError(f"h2load output lacks {pattern!r}:\n{output}")
        return m

    finished = grab(r"finished in ([0-9.]+)(ms|s),")
    seconds = float(finished.group(1)) / (1000 if finished.group(2) == "ms" else 1)
    req = grab(
        rf"requests: {_NUM} total, {_NUM} started, {_NUM} done, {_NUM} succeeded, "
        rf"{_NUM} failed, {_NUM} errored, {_NUM} timeout"
    )
    codes = grab(rf"status codes: {_NUM} 2xx")
    traffic = grab(
        r"traffic: .*?, [^,]*? headers \(space savings [^)]*\), [0-9.]+[KMG]?B \(([0-9]+)\) data"
    )
    return H2loadResult(
        seconds=seconds,
        total=int(req.group(1)),
        succeeded=int(req.group(4)),
        failed=int(req.group(5)),
        errored=int(req.group(6)),
        timeout=int(req.group(7)),
        status_2xx=int(codes.group(1)),
        data_bytes=int(traffic.group(1)),
        output=output,
    )


def run(
    url: str,
    body: Path,
    *,
    connections: int,
    streams: int,
    requests: int,
    cpu: int | None,
    headers: Sequence[str] = (),
) -> H2loadResult:
    """One h2load run of exactly `requests` calls; the rate is calls over its wall time.

    A count, not a duration (-D): when a duration ends, h2load stops with answers half
    received and counts their status and bytes but not their requests, so no exact check
    could tell a cut-off answer from a gRPC error. Nor --warm-up-time, whose answers' bytes
    are counted without their requests. Callers size `requests` from a previous run's rate
    to get the run length they want, and warm up with a checked run of their own.
    """
    exe = ensure_h2load()
    cmd = [
        exe,
        "-c",
        str(connections),
        "-m",
        str(streams),
        "-t",
        "1",
        "-n",
        str(max(requests, connections)),
        "-d",
        str(body),
    ]
    for header in (*GRPC_HEADERS, *headers):
        cmd += ["-H", header]
    cmd.append(url)
    done = subprocess.run(pinned(cmd, cpu), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"h2load failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout)


def check(result: H2loadResult, response_size: int, what: str) -> None:
    """Raise unless every counted request got HTTP 200 and a full-size gRPC message."""
    problems = []
    if result.succeeded != result.total:
        problems.append(f"{result.succeeded} of {result.total} requests succeeded")
    if result.succeeded == 0:
        problems.append("no request succeeded")
    if result.failed or result.errored or result.timeout:
        problems.append(
            f"{result.failed} failed, {result.errored} errored, {result.timeout} timed out"
        )
    if result.status_2xx != result.succeeded:
        problems.append(f"{result.status_2xx} HTTP 2xx for {result.succeeded} successes")
    expected = result.succeeded * (5 + response_size)
    if result.data_bytes != expected:
        problems.append(
            f"{result.data_bytes} response bytes, expected {expected} = {result.succeeded} x "
            f"(5 + {response_size}): some answers carried no message (a grpc-status error) "
            "or a different one"
        )
    if problems:
        raise BenchError(f"{what}: h2load result rejected: " + "; ".join(problems))


def probe(
    target: str,
    method: str,
    message: bytes,
    timeout: float = 120,
    metadata: Sequence[tuple[str, str]] = (),
) -> bytes:
    """Send one request through grpcio; the answer's bytes, or BenchError naming the
    grpc-status when the server answered an error."""
    with grpc.insecure_channel(
        target, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    ) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            answer: bytes = call(message, timeout=timeout, metadata=tuple(metadata) or None)
        except grpc.RpcError as exc:
            code = exc.code()
            raise BenchError(
                f"{target}{method} answered grpc-status {code.value[0]} ({code.name}): "
                f"{exc.details()}"
            ) from None
    return answer
