"""Sending a batch: rows go to EstimateSessions in chunks, several chunks in flight, and
every answer (or refusal) becomes an output row in input order."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service import wire
from service.cli.batch.files import OUTPUT_COLUMNS, Writer
from service.cli.batch.rows import Row, cell_text, parse_row
from service.cli.render import money_text
from service.domain.versions import version_label

# Server field paths (after "sessions[i].") -> the input column a clerk can fix.
_FIELD_TO_COLUMN = {
    "referral.kind": "referral",
    "referral.issue_date": "referral_date",
    "accumulators.deductible_met": "deductible_met",
    "accumulators.out_of_pocket_met": "oop_met",
    "accumulators.visits_used": "visits_used",
    "prior_authorization_on_file": "prior_auth_on_file",
    "other_network_accumulators.deductible_met": "other_network_deductible_met",
    "other_network_accumulators.out_of_pocket_met": "other_network_out_of_pocket_met",
    "other_network_accumulators.family_deductible_met": "other_network_family_deductible_met",
    "other_network_accumulators.family_out_of_pocket_met": (
        "other_network_family_out_of_pocket_met"
    ),
    "accumulators.family_deductible_met": "family_deductible_met",
    "accumulators.family_out_of_pocket_met": "family_out_of_pocket_met",
    "accumulators.benefit_paid": "benefit_paid",
}


class BatchAborted(Exception):
    """The service could not be reached or refused a whole chunk: stop with exit 1."""


@dataclass
class Summary:
    """What a batch did, for the closing line."""

    rows: int = 0
    covered: int = 0
    not_covered: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_codes: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def count(self, out: Mapping[str, Any]) -> None:
        self.rows += 1
        if out["status"] == "covered":
            self.covered += 1
        elif out["status"] == "not_covered":
            self.not_covered += 1
        else:
            self.errors += 1
            code = str(out["error_code"])
            self.error_codes[code] = self.error_codes.get(code, 0) + 1


def estimate_row(row_id: str, est: pb.Estimate) -> dict[str, Any]:
    rv = est.rule_version
    return {
        "row_id": row_id,
        "status": "covered" if est.covered else "not_covered",
        "covered": est.covered,
        "patient_pays": money_text(est.patient_pays),
        "plan_pays": money_text(est.plan_pays),
        "allowed_amount": money_text(est.allowed_amount),
        "clinic_charge": money_text(est.clinic_charge),
        "cpt_code": est.cpt_code,
        "billed_units": est.billed_units,
        "covered_units": est.covered_units,
        "sessions_remaining": est.sessions_remaining
        if est.HasField("sessions_remaining")
        else None,
        "benefit_remaining": money_text(est.benefit_remaining)
        if est.HasField("benefit_remaining")
        else None,
        "prior_authorization_required": est.prior_authorization_required,
        "missing": [m.code for m in est.missing],
        "rule_version": version_label(rv) if est.HasField("rule_version") else "",
        "reasons": [r.code for r in est.reasons],
        # what a row's 271 states differently from the rule table that priced it
        "eligibility_disagreements": [
            f"{x.term}: rule table {x.rule_value}, 271 {x.eligibility_value}"
            for x in est.eligibility.disagreements
        ],
        "error_code": "",
        "error_message": "",
    }


def error_row(row_id: str, code: str, message: str) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(OUTPUT_COLUMNS)
    out.update(
        row_id=row_id,
        status="error",
        missing=[],
        reasons=[],
        eligibility_disagreements=[],
        error_code=code,
        error_message=message,
    )
    return out


def column_of(field_path: str) -> str:
    """'sessions[3].accumulators.out_of_pocket_met' -> 'oop_met' (the column to fix)."""
    path = field_path.split("].", 1)[1] if field_path.startswith("sessions[") else field_path
    path = path.removeprefix("session.")
    if path in _FIELD_TO_COLUMN:
        return _FIELD_TO_COLUMN[path]
    head = path.split("[", 1)[0]
    return _FIELD_TO_COLUMN.get(head, head)


def status_words(status: status_pb2.Status) -> tuple[str, str]:
    """(code name, message naming the column) for a row the service refused."""
    code = code_pb2.Code.Name(status.code)
    details = wire.details_of(status)
    bad = details.get("BadRequest")
    if isinstance(bad, error_details_pb2.BadRequest) and bad.field_violations:
        return code, "; ".join(
            f"{column_of(v.field)}: {v.description}" for v in bad.field_violations
        )
    resource = details.get("ResourceInfo")
    if isinstance(resource, error_details_pb2.ResourceInfo) and resource.resource_type == "plan":
        return code, f"plan_id: {status.message}"
    return code, status.message


# ---------------------------------------------------------------- sending


def quote_chunk(
    stub: pb_grpc.EstimatorServiceStub, rows: list[Row], timeout: float
) -> list[dict[str, Any]]:
    """Send the sendable rows of a chunk in one EstimateSessions call; outputs in row order."""
    outputs: list[dict[str, Any] | None] = [
        error_row(r.row_id, r.error_code, r.error_message) if r.details is None else None
        for r in rows
    ]
    sendable = [(i, r) for i, r in enumerate(rows) if r.details is not None]
    if sendable:
        request = pb.EstimateSessionsRequest(
            sessions=[r.details for _, r in sendable if r.details is not None]
        )
        try:
            response: pb.EstimateSessionsResponse = stub.EstimateSessions(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise BatchAborted(_chunk_failure(exc)) from None
        if len(response.results) != len(sendable):
            raise BatchAborted(
                f"the service answered {len(response.results)} of {len(sendable)} rows"
            )
        for result in response.results:
            i, row = sendable[result.index]
            if result.HasField("estimate"):
                try:
                    outputs[i] = estimate_row(row.row_id, result.estimate)
                except ValueError as exc:  # never write a rounded amount
                    outputs[i] = error_row(row.row_id, "INTERNAL", str(exc))
            else:
                code, message = status_words(result.error)
                outputs[i] = error_row(row.row_id, code, message)
    return [o for o in outputs if o is not None]


def _chunk_failure(exc: grpc.RpcError) -> str:
    call = exc if isinstance(exc, grpc.Call) else None
    if call is None:
        return str(exc)
    code = call.code()
    if code is grpc.StatusCode.UNAVAILABLE:
        return f"cannot reach the estimator service ({call.details()})"
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return "the service did not answer in time (try a smaller --chunk-size or --timeout)"
    hint = ""
    if code is grpc.StatusCode.INVALID_ARGUMENT and "sessions" in (call.details() or ""):
        hint = " (the service takes fewer rows per call: try a smaller --chunk-size)"
    return f"{code.name}: {call.details()}{hint}"


def run_batch(
    rows: Iterable[tuple[int, dict[str, Any]]],
    writer: Writer,
    stub: pb_grpc.EstimatorServiceStub,
    *,
    chunk_size: int,
    concurrency: int,
    timeout: float,
    session_types: list[str] | None,
    plan_ids: list[str] | None = None,
    on_progress: Any = None,
) -> Summary:
    """Parse, send chunk by chunk with `concurrency` calls in flight, write in input order."""
    summary = Summary()
    started = time.perf_counter()

    def chunks() -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for number, raw in rows:
            if "__invalid__" in raw:
                row = Row(number, cell_text(raw.get("row_id")) or str(number))
                row.error_code, row.error_message = "INVALID_ARGUMENT", str(raw["__invalid__"])
            else:
                row = parse_row(number, raw, session_types, plan_ids)
            chunk.append(row)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def drain(future: Future[list[dict[str, Any]]]) -> None:
        results = future.result()
        for out in results:
            writer.write(out)
            summary.count(out)
        if on_progress is not None:
            on_progress(len(results))

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="batch") as pool:
        pending: deque[Future[list[dict[str, Any]]]] = deque()
        try:
            for chunk in chunks():
                pending.append(pool.submit(quote_chunk, stub, chunk, timeout))
                while len(pending) >= concurrency:
                    drain(pending.popleft())
            while pending:
                drain(pending.popleft())
        finally:
            for future in pending:
                future.cancel()
    summary.seconds = time.perf_counter() - started
    return summary
