"""The PayerRulesService servicer: parse the request, call the rule-set use cases
(service.usecases.RuleSetService), serialize the answer.

Errors map to statuses in service.api.errors: bad content or a failed publish check ->
INVALID_ARGUMENT with one BadRequest field violation per error; a version label already
published with other content -> ALREADY_EXISTS; an unknown version -> NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
import yaml
from massage_estimator.v1 import payer_rules_pb2 as rpb
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc

from service import rulefiles, wire
from service.api import convert, impact
from service.api.errors import abort
from service.domain.index import ServedPlan
from service.domain.model import RuleSetVersion
from service.domain.versions import ChangeKind
from service.usecases import PublishedVersion, RuleSetService
from service.usecases.errors import QuoteStoreUnavailableError
from service.usecases.impact import ImpactPreviewService
from service.usecases.ports import VersionMeta
from service.usecases.rule_sets import file_name

SERVICE_NAME = rpb.DESCRIPTOR.services_by_name["PayerRulesService"].full_name

_CHANGE_KIND = {
    ChangeKind.ADDED: rpb.CHANGE_KIND_ADDED,
    ChangeKind.REMOVED: rpb.CHANGE_KIND_REMOVED,
    ChangeKind.CHANGED: rpb.CHANGE_KIND_CHANGED,
}


# ---------------------------------------------------------------------------- conversion


def _info_to_proto(meta: VersionMeta, plan_ids: Iterable[str]) -> rpb.RuleSetInfo:
    info = rpb.RuleSetInfo(
        payer_id=meta.payer_id,
        payer_name=meta.payer_name,
        version=meta.version,
        effective_from=wire.date_to_proto(meta.effective_from),
        checksum=meta.checksum,
        published_at=convert.datetime_to_timestamp(meta.published_at),
        published_by=meta.published_by,
        note=meta.note,
        source=_shown_source(meta.source),
        plan_ids=list(plan_ids),
    )
    if meta.effective_to is not None:
        info.effective_to.CopyFrom(wire.date_to_proto(meta.effective_to))
    withdrawn_at = getattr(meta, "withdrawn_at", None)
    if withdrawn_at is not None:
        info.withdrawn_at.CopyFrom(convert.datetime_to_timestamp(withdrawn_at))
        info.withdrawn_reason = str(getattr(meta, "withdrawn_reason", ""))
    return info


def _shown_source(source: str) -> str:
    """A stored source as answers show it: a seeded file's name under the rules folder or an
    upload's file name; an absolute path (kept by an older version) is cut to its file name."""
    if source.startswith(("/", "\\")) or (len(source) > 2 and source[1] == ":"):
        return file_name(source)
    return source


def published_info_to_proto(meta: PublishedVersion) -> rpb.RuleSetInfo:
    """Metadata of a published version (ListRuleSets, GetRuleSet, DiffRuleSets)."""
    return _info_to_proto(meta, meta.plan_ids)


def version_info_to_proto(version: RuleSetVersion) -> rpb.RuleSetInfo:
    """Metadata of a domain version (the answer to PublishRuleSet)."""
    return _info_to_proto(version, (p.plan_id for p in version.plans))


def content_yaml(content: Any) -> str:
    """Canonical content as YAML an analyst can read and publish again (same checksum)."""
    text: str = yaml.safe_dump(content, sort_keys=True, allow_unicode=True, width=100)
    return text


def served_plans_to_proto(plans: Iterable[ServedPlan]) -> rpb.ListPlansResponse:
    response = rpb.ListPlansResponse()
    for plan in plans:
        info = response.plans.add(
            plan_id=plan.plan_id,
            plan_name=plan.plan_name,
            payer_id=plan.payer_id,
            payer_name=plan.payer_name,
        )
        for served in plan.versions:
            v = served.version
            pv = info.versions.add(
                version=v.version,
                effective_from=wire.date_to_proto(v.effective_from),
                published_at=convert.datetime_to_timestamp(v.published_at),
                checksum=v.checksum,
            )
            if v.effective_to is not None:
                pv.effective_to.CopyFrom(wire.date_to_proto(v.effective_to))
            if served.superseded_by is not None:
                pv.superseded_by = served.superseded_by.version
                pv.superseded_from.CopyFrom(wire.date_to_proto(served.superseded_by.effective_from))
    return response


# ---------------------------------------------------------------------------- servicer


class PayerRulesServicer(rpb_grpc.PayerRulesServiceServicer):
    """Answers PayerRulesService from the rule-set use cases."""

    def __init__(
        self, rule_sets: RuleSetService, impact: ImpactPreviewService | None = None
    ) -> None:
        self._rule_sets = rule_sets
        self._impact = impact

    def ValidateRuleSet(
        self, request: rpb.ValidateRuleSetRequest, context: grpc.ServicerContext
    ) -> rpb.ValidateRuleSetResponse:
        try:
            checked = self._rule_sets.validate(request.content, request.source)
            response = rpb.ValidateRuleSetResponse(
                problems=[wire.problem_to_proto(p) for p in checked.problems], valid=checked.valid
            )
            if checked.parsed is not None:
                response.checksum = checked.parsed.checksum
                response.payer_id = checked.parsed.payer_id
                response.version = checked.parsed.version
                response.already_published = checked.already_published
            return response
        except Exception as exc:
            abort(context, exc, "ValidateRuleSet")

    def PublishRuleSet(
        self, request: rpb.PublishRuleSetRequest, context: grpc.ServicerContext
    ) -> rpb.PublishRuleSetResponse:
        try:
            result = self._rule_sets.publish(
                request.content, request.source, request.published_by, request.note
            )
            return rpb.PublishRuleSetResponse(
                rule_set=version_info_to_proto(result.version),
                created=result.created,
                warnings=[wire.problem_to_proto(p) for p in result.warnings],
            )
        except Exception as exc:
            abort(context, exc, "PublishRuleSet")

    def ListRuleSets(
        self, request: rpb.ListRuleSetsRequest, context: grpc.ServicerContext
    ) -> rpb.ListRuleSetsResponse:
        try:
            metas = self._rule_sets.list_versions(request.payer_id.strip(), request.plan_id.strip())
            return rpb.ListRuleSetsResponse(rule_sets=[published_info_to_proto(m) for m in metas])
        except Exception as exc:
            abort(context, exc, "ListRuleSets")

    def GetRuleSet(
        self, request: rpb.GetRuleSetRequest, context: grpc.ServicerContext
    ) -> rpb.GetRuleSetResponse:
        try:
            meta, content = self._rule_sets.get(request.payer_id.strip(), request.version.strip())
            return rpb.GetRuleSetResponse(
                rule_set=published_info_to_proto(meta),
                content_yaml=content_yaml(content),
                content_json=rulefiles.canonical_json(content),
            )
        except Exception as exc:
            abort(context, exc, "GetRuleSet")

    def DiffRuleSets(
        self, request: rpb.DiffRuleSetsRequest, context: grpc.ServicerContext
    ) -> rpb.DiffRuleSetsResponse:
        try:
            diff = self._rule_sets.diff(
                request.payer_id.strip(),
                request.from_version.strip(),
                request.to_version.strip(),
            )
            response = rpb.DiffRuleSetsResponse(
                from_rule_set=published_info_to_proto(diff.before),
                to_rule_set=published_info_to_proto(diff.after),
            )
            for change in diff.changes:
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
            return served_plans_to_proto(self._rule_sets.served_plans(request.payer_id.strip()))
        except Exception as exc:
            abort(context, exc, "ListPlans")

    def PreviewImpact(
        self, request: rpb.PreviewImpactRequest, context: grpc.ServicerContext
    ) -> rpb.PreviewImpactResponse:
        try:
            if self._impact is None:
                raise QuoteStoreUnavailableError("impact previews need the rule and quote store")
            sessions = impact.sessions_from_proto(request)
            report = self._impact.preview(request.content, request.source, sessions)
            return impact.report_to_proto(report)
        except Exception as exc:
            abort(context, exc, "PreviewImpact")

    def WithdrawRuleSet(
        self, request: rpb.WithdrawRuleSetRequest, context: grpc.ServicerContext
    ) -> rpb.WithdrawRuleSetResponse:
        try:
            result = self._rule_sets.withdraw(
                request.payer_id,
                request.version,
                request.reason,
                request.withdrawn_by,
                request.replacement_content,
                request.replacement_source,
            )
            response = rpb.WithdrawRuleSetResponse(
                rule_set=published_info_to_proto(result.withdrawn),
                withdrawn=not result.already_withdrawn,
            )
            if result.replacement is not None:
                response.replacement.CopyFrom(version_info_to_proto(result.replacement.version))
            return response
        except Exception as exc:
            abort(context, exc, "WithdrawRuleSet")
