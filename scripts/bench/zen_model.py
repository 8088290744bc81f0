"""The same decision in GoRules ZEN: a JDM model generated from the rules the service uses.

Why generated: the model must say what the sample rule files say, number for number, and the
rule files are the one place those numbers live. `python -m scripts.bench.zen_model` rewrites
scripts/bench/zen/estimate-session.json from payer_rules/; the harness loads the committed
file, and before timing anything checks that ZEN and the service agree on every input (the
figures, the reasons, what is missing). A model that disagrees is reported, never timed.

The model is three decision tables (session types, plan terms per version and network, the
clinic's cash prices) and one expression node that runs the checks and the cost sharing in
the order of docs/cost-rules.md. Money is integer cents; ZEN computes in decimals, and its
round() rounds halves away from zero, which for the non-negative amounts here is the
service's half up.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.domain.model import (
    SELF_PAY_PLAN_ID,
    Clinic,
    DiagnosisLogic,
    Estimate,
    NetworkAccumulation,
    PlanRules,
    RuleSetVersion,
    SessionRequest,
    UnitMethod,
)
from service.rulefiles import DEFAULT_RULES_DIR, load_rules_dir

MODEL_PATH = Path(__file__).resolve().parent / "zen" / "estimate-session.json"
_METHOD = {
    UnitMethod.CMS_8_MINUTE: "cms_8_minute",
    UnitMethod.AMA_PER_CODE: "ama_per_code",
    UnitMethod.PER_VISIT_FLAT: "per_visit_flat",
}


def _lit(value: Any) -> str:
    """A ZEN expression literal (strings, numbers, booleans, null, lists of those)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if '"' in value or "\\" in value:
            raise ValueError(f"cannot write {value!r} as a ZEN string literal")
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    return str(value)  # Decimal


def _table(
    node_id: str,
    name: str,
    output_path: str,
    inputs: Sequence[tuple[str, str]],
    outputs: Sequence[str],
    rows: Sequence[Sequence[str]],
) -> dict[str, Any]:
    """A first-hit decision table; `rows` hold one cell per input, then one per output."""
    in_ids = [f"{node_id}-in-{i}" for i in range(len(inputs))]
    out_ids = [f"{node_id}-out-{o}" for o in outputs]
    return {
        "id": node_id,
        "type": "decisionTableNode",
        "name": name,
        "position": {"x": 0, "y": 0},
        "content": {
            "hitPolicy": "first",
            "passThrough": True,
            "inputField": None,
            "outputPath": output_path,
            "executionMode": "single",
            "inputs": [
                {"id": i, "name": label, "field": field}
                for i, (label, field) in zip(in_ids, inputs, strict=True)
            ],
            "outputs": [
                {"id": i, "name": o, "field": o} for i, o in zip(out_ids, outputs, strict=True)
            ],
            "rules": [
                {"_id": f"{node_id}-row-{n}", **dict(zip(in_ids + out_ids, row, strict=True))}
                for n, row in enumerate(rows)
            ],
        },
    }


def _prefix_regex(prefixes: Sequence[str]) -> str:
    # `[.]` instead of an escaped dot: the model stays free of backslashes.
    return "^(" + "|".join(p.replace(".", "[.]") for p in prefixes) + ")"


_PLAN_OUTPUTS = (
    "self_pay",
    "basis",
    "unit_method",
    "max_units",
    "types",
    "excluded_injuries",
    "dx",
    "referral_required",
    "accepted",
    "valid_days",
    "visit_limit",
    "pa_from",
    "hsa",
    "covered",
    "copay",
    "deductible_applies",
    "deductible",
    "coinsurance",
    "oop_max",
    "balance_billing",
    "per_visit",
    "rate_first",
    "rate_later",
)


def _plan_row(
    version: RuleSetVersion, plan: PlanRules, network: str, codes: Sequence[str]
) -> list[str]:
    terms = plan.in_network if network == "in" else plan.out_of_network
    assert terms is not None
    first = {c: r.first_unit for c, r in terms.allowed.items()}
    later = {c: r.later_units for c, r in terms.allowed.items()}
    day_from = version.effective_from.toordinal()
    days = (
        f"[{day_from}..{version.effective_to.toordinal()}]"
        if version.effective_to is not None
        else f">= {day_from}"
    )
    values: dict[str, Any] = {
        "self_pay": False,
        "basis": plan.coverage_basis.value,
        "unit_method": _METHOD[plan.unit_method],
        "max_units": plan.max_units_per_visit,
        "types": sorted(plan.covered_session_types),
        "excluded_injuries": sorted(i.value for i in plan.excluded_injuries),
        "dx": _prefix_regex(plan.diagnoses.groups[0].prefixes),
        "referral_required": plan.referral.required,
        "accepted": sorted(k.value for k in plan.referral.accepted_kinds),
        "valid_days": plan.referral.valid_days,
        "visit_limit": None if plan.visit_limit is None else plan.visit_limit.visits,
        "pa_from": None
        if plan.prior_authorization is None
        else plan.prior_authorization.from_visit,
        "hsa": plan.hsa_eligible,
        "covered": terms.covered,
        "copay": terms.copay[0].amount if terms.copay else None,
        "deductible_applies": terms.deductible_applies,
        "deductible": terms.deductible,
        "coinsurance": terms.coinsurance,
        "oop_max": terms.out_of_pocket_max,
        "balance_billing": terms.balance_billing,
        "per_visit": terms.per_visit_allowed,
        # The rate for the session's code, picked by the session-types table's `cpt`.
        "rate_first": _pick(first, codes),
        "rate_later": _pick(later, codes),
    }
    return [_lit(plan.plan_id), days, _lit(network)] + [
        v if k in ("rate_first", "rate_later") else _lit(v) for k, v in values.items()
    ]


def _pick(rates: Mapping[str, int], codes: Sequence[str]) -> str:
    expr = "null"
    for code in reversed(codes):
        if code in rates:
            expr = f'(session.cpt == "{code}" ? {rates[code]} : {expr})'
    return expr


# The decision, in the order of docs/cost-rules.md: checks, prior authorization, then either
# the cash price (not covered) or units, allowed amount, cost sharing capped by the
# out-of-pocket maximum, units above the cap and balance billing.
_EXPRESSIONS = (
    ("self_pay", "plan.self_pay"),
    ("billed", "floor(minutes / 15) + (minutes % 15 >= 8 ? 1 : 0)"),
    ("net_ok", "$.self_pay or plan.covered"),
    ("type_ok", "not $.self_pay and contains(plan.types, session_type)"),
    ("injury_bad", "not $.self_pay and contains(plan.excluded_injuries, injury)"),
    ("dx_ok", "not $.self_pay and some(diagnosis_codes, matches(#, plan.dx))"),
    (
        "referral_missing",
        "not $.self_pay and plan.referral_required and not contains(plan.accepted, referral_kind)",
    ),
    (
        "referral_expired",
        "not $.self_pay and plan.referral_required and not $.referral_missing"
        " and referral_day != null and dos_day - referral_day > plan.valid_days",
    ),
    (
        "visits_out",
        "not $.self_pay and plan.visit_limit != null and visits_used >= plan.visit_limit",
    ),
    (
        "covered",
        "not $.self_pay and $.net_ok and $.type_ok and not $.injury_bad and $.dx_ok"
        " and not $.referral_missing and not $.referral_expired and not $.visits_out"
        " and $.billed > 0",
    ),
    (
        "pa_required",
        "not $.self_pay and plan.pa_from != null and visits_used + 1 >= plan.pa_from"
        " and (plan.visit_limit == null or visits_used < plan.visit_limit)",
    ),
    ("hsa_eligible", "not $.self_pay and plan.hsa and $.type_ok and $.dx_ok"),
    (
        "covered_units",
        "$.covered ? (plan.max_units == null ? $.billed : min([$.billed, plan.max_units])) : 0",
    ),
    (
        "allowed",
        'not $.covered ? 0 : plan.unit_method == "per_visit_flat" ? plan.per_visit'
        " : (plan.rate_first == plan.rate_later or $.covered_units == 1)"
        " ? plan.rate_first * $.covered_units"
        " : plan.rate_first + plan.rate_later * ($.covered_units - 1)",
    ),
    ("copay_full", "$.covered and plan.copay != null ? min([plan.copay, $.allowed]) : 0"),
    (
        "deductible_full",
        "$.covered and plan.copay == null and plan.deductible_applies"
        " ? min([$.allowed, max([0, plan.deductible - deductible_met])]) : 0",
    ),
    (
        "coinsurance_full",
        "$.covered and plan.copay == null"
        " ? round(($.allowed - $.deductible_full) * plan.coinsurance) : 0",
    ),
    ("room", "$.covered and plan.oop_max != null ? max([0, plan.oop_max - oop_met]) : null"),
    ("capped", "$.room != null and $.copay_full + $.deductible_full + $.coinsurance_full > $.room"),
    ("copay", "$.capped ? min([$.copay_full, $.room]) : $.copay_full"),
    ("deductible", "$.capped ? min([$.deductible_full, $.room - $.copay]) : $.deductible_full"),
    (
        "coinsurance",
        "$.capped ? min([$.coinsurance_full, $.room - $.copay - $.deductible])"
        " : $.coinsurance_full",
    ),
    ("share", "$.copay + $.deductible + $.coinsurance"),
    ("plan_pays", "$.covered ? $.allowed - $.share : 0"),
    ("not_covered", "$.covered ? ($.billed - $.covered_units) * session.charge : cash.price"),
    (
        "balance_billing",
        '$.covered and network == "out" and plan.balance_billing'
        " ? max([0, session.charge * $.covered_units - $.allowed]) : 0",
    ),
    ("patient_pays", "$.share + $.not_covered + $.balance_billing"),
    (
        "sessions_remaining",
        "$.self_pay or plan.visit_limit == null ? null"
        " : max([0, plan.visit_limit - visits_used - ($.covered ? 1 : 0)])",
    ),
    (
        "reasons",
        '$.self_pay ? ["SELF_PAY"] : filter(['
        'not $.net_ok ? "NETWORK_NOT_COVERED" : null, '
        'not $.type_ok ? "SESSION_TYPE_NOT_COVERED" : null, '
        '$.injury_bad ? "INJURY_EXCLUDED" : null, '
        'len(diagnosis_codes) == 0 ? "NO_DIAGNOSIS"'
        ' : not $.dx_ok ? "DIAGNOSIS_NOT_QUALIFYING" : null, '
        '$.referral_missing ? "REFERRAL_MISSING" : null, '
        '$.referral_expired ? "REFERRAL_EXPIRED" : null, '
        '$.visits_out ? "VISIT_LIMIT_REACHED" : null, '
        '$.billed == 0 ? "NO_BILLABLE_UNITS" : null, '
        '$.pa_required ? "PRIOR_AUTHORIZATION_REQUIRED" : null, '
        '$.covered ? "COVERED" : null, '
        '$.covered ? "UNITS" : null, '
        '$.capped ? "OUT_OF_POCKET_MAX_REACHED" : null, '
        '$.balance_billing_applies ? "OUT_OF_NETWORK" : null, '
        '$.hsa_eligible ? "HSA_ELIGIBLE" : null'
        "], # != null)",
    ),
    (
        "missing",
        "filter(["
        "$.referral_missing or $.referral_expired"
        ' ? (contains(plan.accepted, "prescription") ? "PRESCRIPTION" : "REFERRAL") : null, '
        '$.pa_required and not prior_authorization_on_file ? "PRIOR_AUTHORIZATION" : null'
        "], # != null)",
    ),
)


def expressible(plan: PlanRules) -> bool:
    """Whether this decision table can say the plan: the clauses of the original samples (a
    list of diagnosis prefixes, one flat copay, individual amounts, separate networks, no
    caps beyond the visit). The comparison runs on those plans only."""
    terms = [t for t in (plan.in_network, plan.out_of_network) if t is not None]
    return (
        plan.diagnoses.logic is DiagnosisLogic.ANY_OF
        and not plan.diagnoses.groups[0].ranges
        and plan.unit_limits.per_day is None
        and not plan.rendering_providers
        and not plan.same_day_reductions
        and plan.payment_limit is None
        and plan.network_accumulation is NetworkAccumulation.SEPARATE
        and (plan.prior_authorization is None or not plan.prior_authorization.required_for_coverage)
        and all(
            len(t.copay) <= 1
            and not t.copay_after_deductible
            and t.family_deductible is None
            and t.family_out_of_pocket_max is None
            for t in terms
        )
    )


def build_model(clinic: Clinic, versions: Sequence[RuleSetVersion]) -> dict[str, Any]:
    """The JDM graph for `versions` (the published rules) and the clinic's prices."""
    codes = sorted(clinic.charge_per_unit)
    session_rows = [
        [_lit(name), _lit(st.cpt_code), _lit(st.group), _lit(clinic.charge_per_unit[st.cpt_code])]
        for name, st in sorted(clinic.session_types.items())
    ]
    plan_rows: list[list[str]] = []
    for version in sorted(versions, key=lambda v: v.effective_from, reverse=True):
        for plan in filter(expressible, version.plans):
            for network in ("in", "out"):
                if network == "in" or plan.out_of_network is not None:
                    plan_rows.append(_plan_row(version, plan, network, codes))
    self_pay = [_lit(SELF_PAY_PLAN_ID), "", ""] + [
        "true" if o == "self_pay" else "null" for o in _PLAN_OUTPUTS
    ]
    plan_rows.append(self_pay)
    cash_rows = [
        [_lit(group), f"<= {p.minutes}", _lit(p.price)]
        for group, prices in sorted(clinic.cash_prices.items())
        for p in prices
    ]
    expressions = list(_EXPRESSIONS)
    # OUT_OF_NETWORK is said whenever balance billing applies, even at $0.00.
    expressions.insert(
        [k for k, _ in expressions].index("patient_pays"),
        ("balance_billing_applies", '$.covered and network == "out" and plan.balance_billing'),
    )
    nodes = [
        {"id": "request", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 0}},
        _table(
            "session-types",
            "session types (clinic.yaml)",
            "session",
            [("session type", "session_type")],
            ["cpt", "group", "charge"],
            session_rows,
        ),
        _table(
            "plans",
            "plan terms by version and network (payer_rules/)",
            "plan",
            [("plan", "plan_id"), ("date of service", "dos_day"), ("network", "network")],
            list(_PLAN_OUTPUTS),
            plan_rows,
        ),
        _table(
            "cash-prices",
            "cash prices (clinic.yaml)",
            "cash",
            [("group", "session.group"), ("minutes", "minutes")],
            ["price"],
            cash_rows,
        ),
        {
            "id": "decide",
            "type": "expressionNode",
            "name": "checks and cost sharing (docs/cost-rules.md)",
            "position": {"x": 0, "y": 0},
            "content": {
                "passThrough": False,
                "inputField": None,
                "outputPath": None,
                "executionMode": "single",
                "expressions": [
                    {"id": f"decide-{key}", "key": key, "value": value}
                    for key, value in expressions
                ],
            },
        },
        {"id": "response", "type": "outputNode", "name": "response", "position": {"x": 0, "y": 0}},
    ]
    chain = ["request", "session-types", "plans", "cash-prices", "decide", "response"]
    edges = [
        {"id": f"{a}->{b}", "sourceId": a, "targetId": b, "type": "edge"}
        for a, b in itertools.pairwise(chain)
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def zen_input(r: SessionRequest) -> dict[str, Any]:
    """A request as the ZEN model reads it (dates as day numbers, codes upper-case)."""
    return {
        "plan_id": r.plan_id,
        "session_type": r.session_type,
        "minutes": r.minutes,
        "dos_day": r.date_of_service.toordinal(),
        "referral_kind": r.referral_kind.value,
        "referral_day": None if r.referral_date is None else r.referral_date.toordinal(),
        "diagnosis_codes": [c.upper() for c in r.diagnosis_codes],
        "network": r.network.value,
        "injury": r.injury.value,
        "deductible_met": r.accumulators.deductible_met,
        "oop_met": r.accumulators.out_of_pocket_met,
        "visits_used": r.accumulators.visits_used,
        "prior_authorization_on_file": r.prior_authorization_on_file,
    }


COMPARED = (
    "covered",
    "billed_units",
    "covered_units",
    "allowed",
    "plan_pays",
    "patient_pays",
    "copay",
    "deductible",
    "coinsurance",
    "not_covered",
    "balance_billing",
    "sessions_remaining",
    "prior_authorization_required",
    "hsa_eligible",
    "reasons",
    "missing",
)


def service_answer(e: Estimate) -> dict[str, Any]:
    return {
        "covered": e.covered,
        "billed_units": e.billed_units,
        "covered_units": e.covered_units,
        "allowed": e.allowed_amount,
        "plan_pays": e.plan_pays,
        "patient_pays": e.patient_pays,
        "copay": e.patient_cost.copay,
        "deductible": e.patient_cost.deductible,
        "coinsurance": e.patient_cost.coinsurance,
        "not_covered": e.patient_cost.not_covered,
        "balance_billing": e.patient_cost.balance_billing,
        "sessions_remaining": e.sessions_remaining,
        "prior_authorization_required": e.prior_authorization_required,
        "hsa_eligible": e.hsa_eligible,
        "reasons": [r.code for r in e.reasons],
        "missing": [m.code for m in e.missing],
    }


def zen_answer(result: Mapping[str, Any]) -> dict[str, Any]:
    out = result["result"]  # ZEN leaves keys whose value is null out of the result

    def num(key: str) -> int | None:
        value = out.get(key)
        return None if value is None else int(value)

    return {
        "covered": bool(out["covered"]),
        "billed_units": num("billed"),
        "covered_units": num("covered_units"),
        "allowed": num("allowed"),
        "plan_pays": num("plan_pays"),
        "patient_pays": num("patient_pays"),
        "copay": num("copay"),
        "deductible": num("deductible"),
        "coinsurance": num("coinsurance"),
        "not_covered": num("not_covered"),
        "balance_billing": num("balance_billing"),
        "sessions_remaining": num("sessions_remaining"),
        "prior_authorization_required": bool(out["pa_required"]),
        "hsa_eligible": bool(out["hsa_eligible"]),
        "reasons": list(out["reasons"]),
        "missing": list(out["missing"]),
    }


def sample_model(rules_dir: Path = DEFAULT_RULES_DIR) -> dict[str, Any]:
    clinic, parsed = load_rules_dir(rules_dir)
    published = datetime(2025, 1, 1, tzinfo=UTC)
    return build_model(clinic, [p.to_version(published, "zen-model") for p in parsed])


def dumps(model: Mapping[str, Any]) -> str:
    return json.dumps(model, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the ZEN model from payer_rules/.")
    parser.add_argument("--rules-dir", type=Path, default=DEFAULT_RULES_DIR)
    parser.add_argument("-o", "--output", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(dumps(sample_model(args.rules_dir)))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
