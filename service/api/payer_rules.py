"""The PayerRulesService servicer: validate, publish, list, show and diff rule-set versions.

Like the estimator servicer it holds no business logic: rule files are checked by
service.rulefiles, publish checks and the all-or-nothing write are the store's
(service.storage, service.domain.versions), diffs are service.domain.versions.diff_versions.
After a publish creates a version, the server rebuilds its in-memory index and swaps it in
BEFORE it answers, so a quote sent right after the answer already sees the new version.

Status mapping: bad content or a failed publish check -> INVALID_ARGUMENT with one BadRequest
field violation per error, field "<source>: <path>" (source is the file name for file
problems, the version label for checks against published versions); a version label that is
already published with other content -> ALREADY_EXISTS; an unknown version -> NOT_FOUND.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NoReturn, Protocol

import grpc
import yaml
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from massage_estimator.v1 import payer_rules_pb2 as rpb
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc

from service import rulefiles, wire
from service.api import convert
from service.api.errors import ERROR_DOMAIN, abort
from service.domain.errors import FieldViolation, InvalidRequestError
from service.domain.index import RuleIndex
from service.domain.model import Clinic, RuleSetVersion
from service.domain.versions import (
    ChangeKind,
    PublishRejectedError,
    VersionIdentity,
    diff_versions,
)
from service.storage import RuleStore
from service.storage.tables import RuleSetVersionPublic

SERVICE_NAME = rpb.DESCRIPTOR.services_by_name["PayerRulesService"].full_name
DEFAULT_SOURCE = "upload"
MAX_PUBLISHED_BY = 200  # the rule_set_version.published_by column (PostgreSQL enforces it)

log = logging.getLogger(__name__)

_CHANGE_KIND = {
    ChangeKind.ADDED: rpb.CHANGE_KIND_ADDED,
    ChangeKind.REMOVED: rpb.CHANGE_KIND_REMOVED,
    ChangeKind.CHANGED: rpb.CHANGE_KIND_CHANGED,
}


class ProblemLike(Protocol):
    """A rulefiles.Problem or a domain.versions.Problem (same shape)."""

    @property
    def source(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def is_error(self) -> bool: ...


class IndexHolder(Protocol):
    """What ListPlans needs of the Quoter: the index it answers from right now."""

    @property
    def index(self) -> RuleIndex: ...


# ---------------------------------------------------------------------------- statuses


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def abort_status(
    context: grpc.ServicerContext, code: int, message: str, *details: Message
) -> NoReturn:
    """End the RPC with a google.rpc.Status carrying `details` (grpc-status-details-bin)."""
    status = status_pb2.Status(code=code, message=message, details=[_pack(d) for d in details])
    context.abort_with_status(rpc_status.to_status(status))
    raise AssertionError("abort_with_status returned")  # pragma: no cover - it always raises


def error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)


def abort_not_found(
    context: grpc.ServicerContext, resource_type: str, name: str, message: str, reason: str
) -> NoReturn:
    abort_status(
        context,
        code_pb2.NOT_FOUND,
        message,
        error_info(reason, **{resource_type: name}),
        error_details_pb2.ResourceInfo(
            resource_type=resource_type, resource_name=name, description=message
        ),
    )


def _violations(problems: Iterable[ProblemLike]) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=f"{p.source}: {p.field}", description=p.message
            )
            for p in problems
            if p.is_error
        ]
    )


# ---------------------------------------------------------------------------- conversion


def problem_to_proto(p: ProblemLike) -> rpb.RuleProblem:
    return rpb.RuleProblem(
        severity=rpb.SEVERITY_ERROR if p.is_error else rpb.SEVERITY_WARNING,
        source=p.source,
        field=p.field,
        message=p.message,
    )


class _VersionMeta(VersionIdentity, Protocol):
    """The metadata a stored row and a domain version share."""

    @property
    def published_at(self) -> datetime: ...
    @property
    def published_by(self) -> str: ...
    @property
    def note(self) -> str: ...
    @property
    def source(self) -> str: ...


def _info_to_proto(meta: _VersionMeta, plan_ids: list[str]) -> rpb.RuleSetInfo:
    info = rpb.RuleSetInfo(
        payer_id=meta.payer_id,
        payer_name=meta.payer_name,
        version=meta.version,
        effective_from=wire.date_to_proto(meta.effective_from),
        checksum=meta.checksum,
        published_at=convert.datetime_to_timestamp(meta.published_at),
        published_by=meta.published_by,
        note=meta.note,
        source=meta.source,
        plan_ids=plan_ids,
    )
    if meta.effective_to is not None:
        info.effective_to.CopyFrom(wire.date_to_proto(meta.effective_to))
    return info


def stored_info_to_proto(meta: RuleSetVersionPublic) -> rpb.RuleSetInfo:
    """Metadata of a stored version (ListRuleSets, GetRuleSet, DiffRuleSets)."""
    return _info_to_proto(meta, list(meta.plan_ids))


def version_info_to_proto(version: RuleSetVersion) -> rpb.RuleSetInfo:
    """Metadata of a domain version (the answer to PublishRuleSet)."""
    return _info_to_proto(version, [p.plan_id for p in version.plans])


def content_yaml(content: Any) -> str:
    """Canonical content as YAML an analyst can read and publish again (same checksum)."""
    text: str = yaml.safe_dump(content, sort_keys=True, allow_unicode=True, width=100)
    return text


# ---------------------------------------------------------------------------- servicer


class PayerRulesServicer(rpb_grpc.PayerRulesServiceServicer):
    """Answers PayerRulesService from the rule store; `refresh` rebuilds and swaps the index."""

    def __init__(
        self,
        store: RuleStore,
        clinic: Clinic,
        quoter: IndexHolder,
        refresh: Callable[[], object],
    ) -> None:
        self._store = store
        self._clinic = clinic
        self._quoter = quoter
        self._refresh = refresh

    # ------------------------------------------------------------------ validate / publish

    def _parse(
        self, content: str, source: str, extra: Sequence[FieldViolation] = ()
    ) -> tuple[rulefiles.ParsedRuleSet | None, list[rulefiles.Problem]]:
        violations = list(extra)
        if not content.strip():
            violations.insert(
                0,
                FieldViolation("content", "is empty: send the rule-set file's text (YAML or JSON)"),
            )
        if violations:
            raise InvalidRequestError(violations)
        return rulefiles.validate_rule_set(content, source, self._clinic)

    def ValidateRuleSet(
        self, request: rpb.ValidateRuleSetRequest, context: grpc.ServicerContext
    ) -> rpb.ValidateRuleSetResponse:
        try:
            source = request.source.strip() or DEFAULT_SOURCE
            parsed, problems = self._parse(request.content, source)
            found: list[ProblemLike] = list(problems)
            response = rpb.ValidateRuleSetResponse()
            if parsed is not None:
                response.checksum = parsed.checksum
                response.payer_id = parsed.payer_id
                response.version = parsed.version
                response.already_published = any(
                    m.checksum == parsed.checksum
                    for m in self._store.list_versions(payer_id=parsed.payer_id)
                )
                if not response.already_published:
                    found.extend(self._store.check([parsed]))
            response.problems.extend(problem_to_proto(p) for p in found)
            response.valid = parsed is not None and not any(p.is_error for p in found)
            return response
        except Exception as exc:
            abort(context, exc, "ValidateRuleSet")

    def PublishRuleSet(
        self, request: rpb.PublishRuleSetRequest, context: grpc.ServicerContext
    ) -> rpb.PublishRuleSetResponse:
        try:
            source = request.source.strip() or DEFAULT_SOURCE
            by = request.published_by.strip()
            missing_by = (
                [FieldViolation("published_by", "is required: name who publishes this version")]
                if not by
                else [
                    FieldViolation(
                        "published_by",
                        f"must be at most {MAX_PUBLISHED_BY} characters, not {len(by)}",
                    )
                ]
                if len(by) > MAX_PUBLISHED_BY
                else []
            )
            nul = [
                FieldViolation(name, "contains a NUL character (\\0); write plain text")
                for name, value in (
                    ("published_by", request.published_by),
                    ("note", request.note),
                    ("source", request.source),
                )
                if "\x00" in value  # PostgreSQL text cannot hold it
            ]
            parsed, problems = self._parse(request.content, source, missing_by + nul)
        except Exception as exc:
            abort(context, exc, "PublishRuleSet")
        if parsed is None:
            errors = [p for p in problems if p.is_error]
            abort_status(
                context,
                code_pb2.INVALID_ARGUMENT,
                f"rule set {source} not published: {len(errors)} error(s); nothing was written",
                _violations(errors),
                error_info("RULE_SET_INVALID", source=source),
            )
        try:
            result = self._store.publish(
                parsed, request.published_by.strip(), note=request.note.strip() or None
            )
        except PublishRejectedError as exc:
            self._reject(context, exc, parsed)
        except Exception as exc:
            abort(context, exc, "PublishRuleSet")
        try:
            if result.created:
                self._refresh()  # serve it before answering: a quote right after sees it
            return rpb.PublishRuleSetResponse(
                rule_set=version_info_to_proto(result.version),
                created=result.created,
                warnings=[problem_to_proto(p) for p in result.warnings],
            )
        except Exception as exc:
            abort(context, exc, "PublishRuleSet (reloading the index)")

    def _reject(
        self,
        context: grpc.ServicerContext,
        exc: PublishRejectedError,
        parsed: rulefiles.ParsedRuleSet,
    ) -> NoReturn:
        errors = exc.errors
        label = f"{parsed.payer_id} {parsed.version}"
        conflict = [p for p in errors if p.field == "version" and p.source == label]
        if conflict:
            others = [p for p in errors if p not in conflict]
            abort_status(
                context,
                code_pb2.ALREADY_EXISTS,
                f"{label} not published: {conflict[0].message}"
                + (f" (and {len(others)} other error(s))" if others else ""),
                *([_violations(errors)] if others else []),
                error_info(
                    "RULE_SET_VERSION_EXISTS", payer_id=parsed.payer_id, version=parsed.version
                ),
                error_details_pb2.ResourceInfo(
                    resource_type="rule_set",
                    resource_name=f"{parsed.payer_id}/{parsed.version}",
                    description=conflict[0].message,
                ),
            )
        abort_status(
            context,
            code_pb2.INVALID_ARGUMENT,
            f"{label} not published: {len(errors)} error(s) against the published versions; "
            "nothing was written",
            _violations(errors),
            error_info(exc.reason, payer_id=parsed.payer_id, version=parsed.version),
        )

    # ------------------------------------------------------------------ reads

    def ListRuleSets(
        self, request: rpb.ListRuleSetsRequest, context: grpc.ServicerContext
    ) -> rpb.ListRuleSetsResponse:
        try:
            metas = self._store.list_versions(
                payer_id=request.payer_id.strip() or None, plan_id=request.plan_id.strip() or None
            )
            return rpb.ListRuleSetsResponse(rule_sets=[stored_info_to_proto(m) for m in metas])
        except Exception as exc:
            abort(context, exc, "ListRuleSets")

    def _find(
        self, context: grpc.ServicerContext, payer_id: str, version: str, field: str
    ) -> RuleSetVersionPublic:
        """The stored version, or NOT_FOUND naming the versions the payer does have."""
        metas = self._store.list_versions(payer_id=payer_id)
        for meta in metas:
            if meta.version == version:
                return meta
        if metas:
            known = ", ".join(m.version for m in metas)
            message = f"{payer_id} has no published version {version!r} ({field}); it has {known}"
        else:
            message = f"no rule set of payer {payer_id!r} is published"
        abort_not_found(context, "rule_set", f"{payer_id}/{version}", message, "RULE_SET_NOT_FOUND")

    @staticmethod
    def _require(fields: dict[str, str]) -> None:
        missing = [
            FieldViolation(name, "is required") for name, value in fields.items() if not value
        ]
        if missing:
            raise InvalidRequestError(missing)

    def GetRuleSet(
        self, request: rpb.GetRuleSetRequest, context: grpc.ServicerContext
    ) -> rpb.GetRuleSetResponse:
        try:
            payer_id, version = request.payer_id.strip(), request.version.strip()
            self._require({"payer_id": payer_id, "version": version})
        except Exception as exc:
            abort(context, exc, "GetRuleSet")
        meta = self._find(context, payer_id, version, "version")
        try:
            content = self._store.get_content(payer_id, version)
            if content is None:  # listed a moment ago; versions are never deleted
                raise RuntimeError(f"{payer_id} {version} has metadata but no content")
            return rpb.GetRuleSetResponse(
                rule_set=stored_info_to_proto(meta),
                content_yaml=content_yaml(content),
                content_json=rulefiles.canonical_json(content),
            )
        except Exception as exc:
            abort(context, exc, "GetRuleSet")

    def DiffRuleSets(
        self, request: rpb.DiffRuleSetsRequest, context: grpc.ServicerContext
    ) -> rpb.DiffRuleSetsResponse:
        try:
            payer_id = request.payer_id.strip()
            before, after = request.from_version.strip(), request.to_version.strip()
            self._require({"payer_id": payer_id, "from_version": before, "to_version": after})
        except Exception as exc:
            abort(context, exc, "DiffRuleSets")
        meta_a = self._find(context, payer_id, before, "from_version")
        meta_b = self._find(context, payer_id, after, "to_version")
        try:
            content_a = self._store.get_content(payer_id, before)
            content_b = self._store.get_content(payer_id, after)
            if content_a is None or content_b is None:
                raise RuntimeError(f"{payer_id}: a listed version has no content")
            response = rpb.DiffRuleSetsResponse(
                from_rule_set=stored_info_to_proto(meta_a),
                to_rule_set=stored_info_to_proto(meta_b),
            )
            for change in diff_versions(content_a, content_b):
                response.changes.add(
                    kind=_CHANGE_KIND[change.kind],
                    field=change.path,
                    before=change.before or "",
                    after=change.after or "",
                    description=str(change),
                )
            return response
        except Exception as exc:
            abort(context, exc, "DiffRuleSets")

    def ListPlans(
        self, request: rpb.ListPlansRequest, context: grpc.ServicerContext
    ) -> rpb.ListPlansResponse:
        try:
            return list_plans(self._quoter.index, request.payer_id.strip() or None)
        except Exception as exc:
            abort(context, exc, "ListPlans")


def list_plans(index: RuleIndex, payer_id: str | None) -> rpb.ListPlansResponse:
    """The plans `index` serves, each with its versions by effective date and, for a version a
    later one takes over from part-way (a mid-year change), which one and from when."""
    response = rpb.ListPlansResponse()
    for plan_id in index.plan_ids():
        entries = sorted(
            index.entries(plan_id),
            key=lambda e: (e.version.effective_from, e.version.published_at),
        )
        if not entries or (payer_id is not None and entries[-1].version.payer_id != payer_id):
            continue
        latest = entries[-1]
        info = response.plans.add(
            plan_id=plan_id,
            plan_name=latest.plan.plan_name,
            payer_id=latest.version.payer_id,
            payer_name=latest.version.payer_name,
        )
        for i, entry in enumerate(entries):
            v = entry.version
            pv = info.versions.add(
                version=v.version,
                effective_from=wire.date_to_proto(v.effective_from),
                published_at=convert.datetime_to_timestamp(v.published_at),
                checksum=v.checksum,
            )
            if v.effective_to is not None:
                pv.effective_to.CopyFrom(wire.date_to_proto(v.effective_to))
            for later in entries[i + 1 :]:
                lv = later.version
                if lv.effective_from > v.effective_from and (
                    v.effective_to is None or lv.effective_from <= v.effective_to
                ):
                    pv.superseded_by = lv.version
                    pv.superseded_from.CopyFrom(wire.date_to_proto(lv.effective_from))
                    break
    return response
