"""Read a 005010X279A1 271 eligibility response into an `Eligibility`.

The reader checks the envelope it relies on (ISA/GS/ST versions, control numbers and the
SE segment count, so a truncated file is refused rather than half read) and then walks the
loops by their HL levels: 2000A payer, 2000B provider, 2000C subscriber, 2000D dependent.
Inside a subscriber or dependent it reads the name loop (NM1, REF, DMG, DTP, AAA) and every
2110 benefit loop (EB with its HSD, MSG and AAA). 2115/2120 loops (III, LS ... LE, and the
benefit-related entities inside them, whose NM1 must not be taken for the member) are
skipped. Whatever is seen for massage and not read is said in `notes`, never dropped in
silence. Format validation against the implementation guide is pyx12's job (see the tests);
this reader refuses only what it cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from service.domain.money import Cents, format_usd
from service.interop.x12 import codes
from service.interop.x12.eligibility import (
    MONEY_TERMS,
    Benefits,
    CoverageStatus,
    Eligibility,
    Figure,
    Level,
    Member,
    Message,
    Network,
    Party,
    PlanDates,
    Rejection,
    Restriction,
    Term,
)
from service.interop.x12.segments import Segment, X12Error, decode, split

VERSION = "005010X279A1"
_RANK = {code: i for i, code in enumerate((*codes.MASSAGE_SERVICE_TYPES, ""))}
_LOOPS = {
    "20": "information source",
    "21": "information receiver",
    "22": "subscriber",
    "23": "dependent",
}
_TOTAL_TERM = {
    codes.DEDUCTIBLE: (Term.DEDUCTIBLE, Term.DEDUCTIBLE_REMAINING, Term.DEDUCTIBLE_MET),
    codes.OUT_OF_POCKET: (
        Term.OUT_OF_POCKET_MAX,
        Term.OUT_OF_POCKET_REMAINING,
        Term.OUT_OF_POCKET_MET,
    ),
}
_BENEFIT_WORDS = {codes.DEDUCTIBLE: "deductible", codes.OUT_OF_POCKET: "out-of-pocket maximum"}


@dataclass
class _Benefit:
    """One 2110 loop: its EB segment and what follows it."""

    eb: Segment
    owner: str  # "22" subscriber or "23" dependent
    hsd: list[Segment] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass
class _Person:
    nm1: Segment | None = None
    dmg: Segment | None = None
    dates: dict[str, tuple[date, date | None]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Candidate:
    term: Term
    network: Network
    level: Level
    figure: Figure


def read_271(data: bytes | str) -> Eligibility:
    """Read one 271 (one transaction set about one patient), or raise X12Error saying why."""
    text = decode(data) if isinstance(data, bytes) else data
    _, segments = split(text)
    body, control_number = _transaction(segments)
    return _Walker(control_number).walk(body)


def _transaction(segments: tuple[Segment, ...]) -> tuple[tuple[Segment, ...], str]:
    """The segments between ST and SE, after checking the envelope around them."""
    isa = segments[0]
    if isa.value(12) != "00501":
        raise X12Error(
            f"the interchange is version {isa.value(12) or '(none)'} (ISA12); only 00501 "
            "(HIPAA 5010) is read"
        )
    if segments[-1].tag != "IEA":
        raise X12Error("the interchange has no IEA trailer: the file is incomplete")
    if segments[-1].value(2) != isa.value(13):
        raise X12Error("IEA02 does not repeat the interchange control number in ISA13")
    groups = [s for s in segments if s.tag == "GS"]
    sets = [s for s in segments if s.tag == "ST"]
    if len(groups) != 1 or len(sets) != 1:
        raise X12Error(
            f"the interchange holds {len(groups)} functional groups and {len(sets)} "
            "transaction sets; give one 271 response (one GS, one ST) per file"
        )
    gs, st = groups[0], sets[0]
    if gs.value(1) == "HS" or st.value(1) == "270":
        raise X12Error("this is a 270 eligibility inquiry, not a 271 response")
    if gs.value(1) != "HB" or st.value(1) != "271":
        raise X12Error(
            f"this is not a 271 eligibility response (GS01 {gs.value(1) or '(none)'}, "
            f"ST01 {st.value(1) or '(none)'})"
        )
    for where, version in (("GS08", gs.value(8)), ("ST03", st.value(3) or VERSION)):
        if version != VERSION:
            raise X12Error(f"{where} is {version or '(none)'}; only {VERSION} is read")
    start = segments.index(st)
    ends = [i for i, s in enumerate(segments) if s.tag == "SE" and i > start]
    if not ends:
        raise X12Error("the 271 has no SE trailer: the file is incomplete")
    end = ends[0]
    se = segments[end]
    if se.value(2) != st.value(2):
        raise X12Error("SE02 does not repeat the transaction set control number in ST02")
    count = end - start + 1
    if se.value(1) != str(count):
        raise X12Error(
            f"SE01 says {se.value(1) or '(none)'} segments but the transaction set has "
            f"{count}: the file is incomplete or was edited"
        )
    ge = [s for s in segments if s.tag == "GE"]
    if len(ge) != 1 or ge[0].value(1) != "1" or ge[0].value(2) != gs.value(6):
        raise X12Error("the GE trailer does not close the one functional group (GE01, GE02)")
    return segments[start + 1 : end], st.value(2)


class _Walker:
    def __init__(self, control_number: str) -> None:
        self.control_number = control_number
        self.level = ""
        self.in_entity_loop = False  # inside LS ... LE (2120)
        self.benefit: _Benefit | None = None
        self.benefits: list[_Benefit] = []
        self.payer: Party | None = None
        self.provider: Party | None = None
        self.people: dict[str, _Person] = {}
        self.rejections: list[Rejection] = []
        self.traces: list[str] = []
        self.notes: list[str] = []

    def walk(self, body: tuple[Segment, ...]) -> Eligibility:
        if not body or body[0].tag != "BHT":
            raise X12Error("the transaction set does not begin with a BHT segment")
        for seg in body[1:]:
            self._segment(seg)
        if self.payer is None:
            raise X12Error("the 271 names no payer (loop 2100A NM1)")
        return self._result()

    # ------------------------------------------------------------------ segments

    def _segment(self, seg: Segment) -> None:
        tag = seg.tag
        if tag == "HL":
            self._hl(seg)
            return
        if self.in_entity_loop:
            if tag == "LE":
                self.in_entity_loop = False
            return
        if tag == "LS":
            self.in_entity_loop = True
        elif tag == "NM1":
            self._nm1(seg)
        elif tag == "EB":
            self._eb(seg)
        elif tag == "AAA":
            self._aaa(seg)
        elif tag == "MSG" and self.benefit is not None:
            self.benefit.messages.append(seg.value(1))
        elif tag == "HSD" and self.benefit is not None:
            self.benefit.hsd.append(seg)
        elif tag == "TRN" and self.level in ("22", "23"):
            self.traces.append(seg.value(2))
        elif self.benefit is None and self.level in ("22", "23"):
            person = self.people.setdefault(self.level, _Person())
            if tag == "DMG":
                person.dmg = seg
            elif tag == "DTP":
                person.dates[seg.value(1)] = _dates(seg)
            elif tag == "REF":
                person.refs.setdefault(seg.value(1), seg.value(2))

    def _hl(self, seg: Segment) -> None:
        level = seg.value(3)
        if level not in _LOOPS:
            raise X12Error(f"{seg.where()}: HL03 {level or '(none)'} is not a 271 level")
        if level in ("22", "23") and level in self.people:
            raise X12Error(
                f"{seg.where()}: the 271 answers for more than one "
                f"{_LOOPS[level]}; give one patient's response per file"
            )
        if level in ("22", "23"):
            self.people[level] = _Person()
        self.level = level
        self.benefit = None
        self.in_entity_loop = False

    def _nm1(self, seg: Segment) -> None:
        if self.level == "20":
            self.payer = Party(seg.value(3), seg.value(8), seg.value(9))
        elif self.level == "21":
            self.provider = Party(_name(seg), seg.value(8), seg.value(9))
        elif self.level in ("22", "23") and self.benefit is None:
            self.people.setdefault(self.level, _Person()).nm1 = seg

    def _eb(self, seg: Segment) -> None:
        if self.level not in ("22", "23"):
            raise X12Error(f"{seg.where()}: an EB segment outside a subscriber or dependent")
        self.benefit = _Benefit(seg, self.level)
        self.benefits.append(self.benefit)

    def _aaa(self, seg: Segment) -> None:
        loop = _LOOPS.get(self.level, "information source")
        if self.benefit is not None:
            loop = f"{loop} benefit ({codes.service_type_words(_first_type(self.benefit.eb))})"
        reason, follow = seg.value(3), seg.value(4)
        self.rejections.append(
            Rejection(
                loop=loop,
                valid_request=seg.value(1) == "Y",
                reason_code=reason,
                reason=codes.words(codes.REJECT_REASONS, reason, "reject reason"),
                follow_up_code=follow,
                follow_up=codes.words(codes.FOLLOW_UP_ACTIONS, follow, "follow-up action")
                if follow
                else "",
                segment=seg.position,
            )
        )

    # ------------------------------------------------------------------ result

    def _result(self) -> Eligibility:
        patient_level = "23" if "23" in self.people else "22"
        mine = [b for b in self.benefits if b.owner == patient_level]
        others = len(self.benefits) - len(mine)
        if others:
            self.notes.append(
                f"{others} benefit segment(s) of the subscriber were not read: the patient is "
                "the dependent, whose own benefits are read"
            )
        candidates: list[_Candidate] = []
        restrictions: list[Restriction] = []
        messages: list[Message] = []
        other_types: set[str] = set()
        for benefit in mine:
            candidates.extend(self._figures(benefit, restrictions, messages, other_types))
        status = self._status(mine)
        person = self.people.get(patient_level)
        subscriber = self.people.get("22")
        dates = _plan_dates(subscriber, self.people.get("23"))
        refs = subscriber.refs if subscriber else {}
        return Eligibility(
            status=status.status,
            status_code=status.code,
            status_words=status.words,
            status_service_type=status.service_type,
            plan_description=status.description,
            insurance_type=status.insurance_type,
            plan_dates=dates,
            payer=self.payer or Party("", "", ""),
            provider=self.provider,
            member=_member(person, subscriber, patient_level == "23"),
            group_number=refs.get("6P", ""),
            plan_number=refs.get("18", ""),
            trace_numbers=tuple(self.traces),
            rejections=tuple(self.rejections),
            benefits=self._pick(candidates),
            restrictions=tuple(restrictions),
            messages=tuple(messages),
            status_messages=status.messages,
            notes=tuple(self.notes),
            other_service_types=tuple(sorted(other_types)),
            control_number=self.control_number,
        )

    def _figures(
        self,
        benefit: _Benefit,
        restrictions: list[Restriction],
        messages: list[Message],
        other_types: set[str],
    ) -> Iterable[_Candidate]:
        eb = benefit.eb
        types = eb.repeats(3) or ("",)
        other_types.update(t for t in types if t not in _RANK)
        mine = sorted((t for t in types if t in _RANK), key=_RANK.__getitem__)
        if not mine:
            return []
        network = _network(eb.value(12))
        code = eb.value(1)
        procedure = eb.components(13)
        if len(procedure) > 1 and procedure[1] not in codes.MASSAGE_PROCEDURES:
            self.notes.append(
                f"{eb.where()}: a benefit for procedure {procedure[1]} only (EB13) is not read"
            )
            return []
        if code not in codes.ACTIVE_CODES and code not in codes.INACTIVE_CODES:
            # a coverage segment's messages are the status's (status_messages)
            messages.extend(
                Message(text, mine[0], network, eb.position) for text in benefit.messages
            )
        if code in codes.RESTRICTION_CODES:
            for st in mine:
                restrictions.append(
                    Restriction(code, codes.RESTRICTION_CODES[code], st, network, eb.position)
                )
        level = _level(eb.value(2))
        found: list[tuple[Term, int | Decimal | str, str]] = []
        if eb.value(11):
            found.append((Term.PRIOR_AUTHORIZATION, eb.value(11), ""))
        found.extend(self._eb_terms(eb, benefit.hsd))
        if level is None:
            if found:
                self.notes.append(
                    f"{eb.where()}: coverage level {eb.value(2)} "
                    f"({codes.words(codes.COVERAGE_LEVELS, eb.value(2), 'level')}) is neither "
                    "individual nor family; its figures are not read"
                )
            return []
        return [
            _Candidate(term, network, level, Figure(value, st, eb.position, period))
            for term, value, period in found
            for st in mine
        ]

    def _eb_terms(
        self, eb: Segment, hsd: list[Segment]
    ) -> list[tuple[Term, int | Decimal | str, str]]:
        code, period = eb.value(1), eb.value(6)
        out: list[tuple[Term, int | Decimal | str, str]] = []
        if code in _TOTAL_TERM:
            amount = self._money(eb)
            if amount is not None:
                term = _by_period(_TOTAL_TERM[code], period)
                if term is None:
                    self._unread(eb, f"a {_BENEFIT_WORDS[code]}", period)
                else:
                    out.append((term, amount, period))
        elif code == codes.COPAY:
            amount = self._money(eb)
            if amount is not None:
                if period and period not in codes.PER_VISIT_PERIODS:
                    self._unread(eb, "a copay", period)
                else:
                    out.append((Term.COPAY, amount, period))
        elif code == codes.COINSURANCE:
            rate = self._percent(eb)
            if rate is not None:
                out.append((Term.COINSURANCE, rate, period))
        elif code == codes.LIMITATIONS:
            out.extend(self._limits(eb, hsd))
        return out

    def _limits(
        self, eb: Segment, hsd: list[Segment]
    ) -> list[tuple[Term, int | Decimal | str, str]]:
        out: list[tuple[Term, int | Decimal | str, str]] = []
        period = eb.value(6)
        visits = (Term.VISIT_LIMIT, Term.VISITS_REMAINING, Term.VISITS_USED)
        if eb.value(9) == codes.VISITS and eb.value(10):
            count = _count(eb.value(10))
            term = _by_period(visits, period)
            if count is None:
                self.notes.append(f"{eb.where()}: EB10 is not a whole number of visits")
            elif term is None:
                self._unread(eb, "a visit limit", period)
            else:
                out.append((term, count, period))
        elif eb.value(9):
            self.notes.append(
                f"{eb.where()}: a limitation counted in quantity qualifier {eb.value(9)} is "
                "not read (only VS visits)"
            )
        if eb.value(7):
            amount = self._money(eb)
            dollars = (Term.BENEFIT_MAXIMUM, Term.BENEFIT_REMAINING, Term.BENEFIT_USED)
            term = _by_period(dollars, period)
            if amount is not None and term is None:
                self._unread(eb, "a dollar limit", period)
            elif amount is not None and term is not None:
                out.append((term, amount, period))
        for seg in hsd:
            if seg.value(1) != codes.VISITS or not seg.value(2):
                continue
            count = _count(seg.value(2))
            term = _by_period(visits, seg.value(5))
            if count is None or term is None or seg.value(6) not in ("", "1"):
                self.notes.append(
                    f"{seg.where()}: a visit limit per {seg.value(6) or ''} "
                    f"{codes.words(codes.TIME_PERIODS, seg.value(5), 'period')} is not read"
                )
            else:
                out.append((term, count, seg.value(5)))
        return out

    def _money(self, eb: Segment) -> Cents | None:
        text = eb.value(7)
        if not text:
            self.notes.append(f"{eb.where()}: no amount in EB07")
            return None
        try:
            amount = Decimal(text) * 100
        except ArithmeticError:  # InvalidOperation, and Overflow for 1E+999999999
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0 or amount != amount.to_integral_value():
            self.notes.append(f"{eb.where()}: EB07 is not an amount in dollars and cents")
            return None
        return int(amount)

    def _percent(self, eb: Segment) -> Decimal | None:
        text = eb.value(8)
        try:
            rate = Decimal(text)
        except InvalidOperation:
            rate = Decimal("NaN")
        if not rate.is_finite() or not 0 <= rate <= 1:
            self.notes.append(
                f"{eb.where()}: EB08 is not a coinsurance fraction between 0 and 1 (0.20 for 20%)"
            )
            return None
        return rate

    def _unread(self, eb: Segment, what: str, period: str) -> None:
        per = codes.words(codes.TIME_PERIODS, period, "period") if period else "no period"
        self.notes.append(
            f"{eb.where()}: {what} for {codes.service_type_words(_first_type(eb))} with time "
            f"period {per} is not read"
        )

    def _pick(self, candidates: list[_Candidate]) -> tuple[Benefits, ...]:
        """Per network, level and term, the figure from the most specific service type; the
        same service type giving two different figures is reported in `notes`."""
        best: dict[tuple[Network, Level, Term], _Candidate] = {}
        for cand in sorted(
            candidates, key=lambda c: (_RANK[c.figure.service_type], c.figure.segment)
        ):
            key = (cand.network, cand.level, cand.term)
            kept = best.get(key)
            if kept is None:
                best[key] = cand
            elif (
                kept.figure.service_type == cand.figure.service_type
                and kept.figure.value != cand.figure.value
            ):
                self.notes.append(
                    f"segments {kept.figure.segment} and {cand.figure.segment} both give "
                    f"the {cand.network.value} network {cand.level.value} "
                    f"{cand.term.value.replace('_', ' ')} for "
                    f"{codes.service_type_words(cand.figure.service_type)} "
                    f"({_show(kept)} and {_show(cand)}); the first is shown"
                )
        grouped: dict[tuple[Network, Level], dict[Term, Figure]] = {}
        for (network, level, term), cand in best.items():
            grouped.setdefault((network, level), {})[term] = cand.figure
        order = {n: i for i, n in enumerate(Network)} | {lv: i for i, lv in enumerate(Level)}
        return tuple(
            Benefits(network, level, dict(sorted(figs.items(), key=lambda kv: kv[0].value)))
            for (network, level), figs in sorted(
                grouped.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]])
            )
        )

    def _status(self, mine: list[_Benefit]) -> _Status:
        said = [b for b in mine if b.eb.value(1) in codes.ACTIVE_CODES | codes.INACTIVE_CODES]
        said.sort(key=lambda b: (_RANK.get(_first_type(b.eb), len(_RANK)), b.eb.position))
        active = [b for b in said if b.eb.value(1) in codes.ACTIVE_CODES]
        inactive = [b for b in said if b.eb.value(1) in codes.INACTIVE_CODES]
        if active and inactive:
            self.notes.append(
                f"segment {active[0].eb.position} says the coverage is active and segment "
                f"{inactive[0].eb.position} that it is inactive; active is shown"
            )
        chosen = (active or inactive)[0] if active or inactive else None
        if chosen is None:
            if self.rejections:
                return _Status(CoverageStatus.REJECTED)
            return _Status(CoverageStatus.NOT_STATED)
        code = chosen.eb.value(1)
        return _Status(
            CoverageStatus.ACTIVE if chosen in active else CoverageStatus.INACTIVE,
            code,
            (codes.ACTIVE_CODES | codes.INACTIVE_CODES)[code],
            _first_type(chosen.eb),
            chosen.eb.value(5),
            chosen.eb.value(4),
            tuple(chosen.messages),
        )


@dataclass(frozen=True)
class _Status:
    status: CoverageStatus
    code: str = ""
    words: str = ""
    service_type: str = ""
    description: str = ""
    insurance_type: str = ""
    messages: tuple[str, ...] = ()


def _first_type(eb: Segment) -> str:
    types = eb.repeats(3)
    ranked = sorted((t for t in types if t in _RANK), key=_RANK.__getitem__)
    return ranked[0] if ranked else (types[0] if types else "")


def _network(code: str) -> Network:
    return {"Y": Network.IN, "N": Network.OUT}.get(code, Network.NOT_STATED)


def _level(code: str) -> Level | None:
    if not code:
        return Level.NOT_STATED
    if code in codes.INDIVIDUAL_LEVELS:
        return Level.INDIVIDUAL
    if code in codes.FAMILY_LEVELS:
        return Level.FAMILY
    return None


def _by_period(terms: tuple[Term, Term, Term], period: str) -> Term | None:
    total, remaining, used = terms
    if period in codes.TOTAL_PERIODS:
        return total
    if period in codes.REMAINING_PERIODS:
        return remaining
    if period in codes.USED_PERIODS:
        return used
    return None


def _count(text: str) -> int | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        return None
    return int(value)


def _show(cand: _Candidate) -> str:
    value = cand.figure.value
    if cand.term in MONEY_TERMS and isinstance(value, int):
        return format_usd(value)
    return str(value)


def _name(seg: Segment) -> str:
    last, first = seg.value(3), seg.value(4)
    return f"{last}, {first}" if first else last


def _day(text: str, seg: Segment) -> date:
    if len(text) != 8 or not text.isdigit():
        raise X12Error(f"{seg.where()}: a date is not written CCYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise X12Error(f"{seg.where()}: a date does not exist on the calendar") from None


def _dates(seg: Segment) -> tuple[date, date | None]:
    fmt, text = seg.value(2), seg.value(3)
    if fmt == "D8":
        return _day(text, seg), None
    if fmt == "RD8":
        first, sep, last = text.partition("-")
        if not sep:
            raise X12Error(f"{seg.where()}: an RD8 date range is not CCYYMMDD-CCYYMMDD")
        return _day(first, seg), _day(last, seg)
    raise X12Error(f"{seg.where()}: DTP02 {fmt or '(none)'} is not D8 or RD8")


def _plan_dates(subscriber: _Person | None, dependent: _Person | None) -> PlanDates:
    """Plan and eligibility dates, the dependent's own where given (else the subscriber's)."""
    found: dict[str, tuple[date, date | None]] = {}
    for person in (subscriber, dependent):
        if person is not None:
            found.update(person.dates)

    def one(single: str, ranged: str, end: bool) -> date | None:
        if single in found:
            return found[single][0]
        if ranged in found:
            first, last = found[ranged]
            return (last or first) if end else first
        return None

    return PlanDates(
        plan_begin=one(codes.PLAN_BEGIN, codes.PLAN, False),
        plan_end=one(codes.PLAN_END, codes.PLAN, True),
        eligibility_begin=one(codes.ELIGIBILITY_BEGIN, codes.ELIGIBILITY, False),
        eligibility_end=one(codes.ELIGIBILITY_END, codes.ELIGIBILITY, True),
    )


def _member(person: _Person | None, subscriber: _Person | None, dependent: bool) -> Member | None:
    if person is None or person.nm1 is None:
        return None
    nm1 = person.nm1
    member_id = nm1.value(9) or (subscriber.nm1.value(9) if subscriber and subscriber.nm1 else "")
    birth: date | None = None
    gender = ""
    if person.dmg is not None:
        if person.dmg.value(1) == "D8" and person.dmg.value(2):
            birth = _day(person.dmg.value(2), person.dmg)
        gender = person.dmg.value(3)
    return Member(
        last_name=nm1.value(3),
        first_name=nm1.value(4),
        middle_name=nm1.value(5),
        member_id=member_id,
        birth_date=birth,
        gender=gender,
        is_dependent=dependent,
    )
