"""X12 005010X279A1 code values the eligibility reader uses, with their words.

Only codes this service reads or shows are listed; any other value is shown as its code
(e.g. "service type 98"), never guessed at. The words follow the X12 code lists' names.
"""

from __future__ import annotations

# Service types (EB03/EQ01) asked for and read for massage, most specific first: massage
# therapy itself, then the benefits massage is most often filed under, then the plan itself.
MASSAGE_SERVICE_TYPES: tuple[str, ...] = ("BE", "AE", "33", "64", "30")

# A benefit an EB segment limits to one procedure (EB13) is read only for these CPT codes.
MASSAGE_PROCEDURES = frozenset({"97124", "97140"})

SERVICE_TYPES: dict[str, str] = {
    "1": "medical care",
    "30": "health benefit plan coverage",
    "33": "chiropractic",
    "35": "dental care",
    "47": "hospital",
    "48": "hospital - inpatient",
    "50": "hospital - outpatient",
    "64": "acupuncture",
    "86": "emergency services",
    "88": "pharmacy",
    "98": "professional (physician) visit - office",
    "AD": "occupational therapy",
    "AE": "physical medicine",
    "AL": "vision (optometry)",
    "BE": "massage therapy",
    "MH": "mental health",
    "PT": "physical therapy",
    "UC": "urgent care",
}

# EB01
ACTIVE_CODES: dict[str, str] = {
    "1": "active coverage",
    "2": "active - full risk capitation",
    "3": "active - services capitated",
    "4": "active - services capitated to primary care physician",
    "5": "active - pending investigation",
}
INACTIVE_CODES: dict[str, str] = {
    "6": "inactive",
    "7": "inactive - pending eligibility update",
    "8": "inactive - pending investigation",
}
COINSURANCE = "A"
COPAY = "B"
DEDUCTIBLE = "C"
LIMITATIONS = "F"
OUT_OF_POCKET = "G"
# Benefit codes that say the service is not paid as asked; shown as flags for massage.
RESTRICTION_CODES: dict[str, str] = {
    "E": "exclusions",
    "I": "non-covered",
    "O": "not deemed a medical necessity",
    "V": "cannot process",
    "U": "contact following entity for eligibility or benefit information",
}

# EB02
COVERAGE_LEVELS: dict[str, str] = {
    "CHD": "children only",
    "DEP": "dependents only",
    "ECH": "employee and children",
    "EMP": "employee only",
    "ESP": "employee and spouse",
    "FAM": "family",
    "IND": "individual",
    "SPC": "spouse and children",
    "SPO": "spouse only",
}
INDIVIDUAL_LEVELS = frozenset({"IND", "EMP"})
FAMILY_LEVELS = frozenset({"FAM"})

# EB04 (only the plan kinds a massage clinic meets; others are shown as their code)
INSURANCE_TYPES: dict[str, str] = {
    "C1": "commercial",
    "EP": "exclusive provider organization (EPO)",
    "HM": "health maintenance organization (HMO)",
    "HN": "HMO - Medicare risk",
    "MA": "Medicare part A",
    "MB": "Medicare part B",
    "MC": "Medicaid",
    "PR": "preferred provider organization (PPO)",
    "PS": "point of service (POS)",
    "WC": "workers' compensation",
}

# EB06 / HSD05
TIME_PERIODS: dict[str, str] = {
    "6": "hour",
    "7": "day",
    "13": "24 hours",
    "21": "years",
    "22": "service year",
    "23": "calendar year",
    "24": "year to date",
    "25": "contract",
    "26": "episode",
    "27": "visit",
    "28": "outlier",
    "29": "remaining",
    "30": "exceeded",
    "31": "not exceeded",
    "32": "lifetime",
    "33": "lifetime remaining",
    "34": "month",
    "35": "week",
    "36": "admission",
}
# A total for the benefit period. Lifetime figures (32, 33) are not read: a quote measures a
# benefit period, and a lifetime remaining subtracted from a yearly total would be wrong.
TOTAL_PERIODS = frozenset({"21", "22", "23", "25"})
REMAINING_PERIODS = frozenset({"29"})
USED_PERIODS = frozenset({"24"})
PER_VISIT_PERIODS = frozenset({"27"})

# EB09 / HSD01
VISITS = "VS"

# EB11 / EB12
YES_NO_UNKNOWN = {"Y": "yes", "N": "no", "U": "unknown"}
NETWORK_INDICATORS = {
    "Y": "in network",
    "N": "out of network",
    "U": "network unknown",
    "W": "network not applicable (the same in and out of network)",
}

# AAA03, the reject reasons a 271 may give (every loop)
REJECT_REASONS: dict[str, str] = {
    "04": "authorized quantity exceeded",
    "15": "required application data missing",
    "33": "input errors",
    "35": "out of network",
    "41": "authorization/access restrictions",
    "42": "unable to respond at current time",
    "43": "invalid/missing provider identification",
    "44": "invalid/missing provider name",
    "45": "invalid/missing provider specialty",
    "46": "invalid/missing provider phone number",
    "47": "invalid/missing provider state",
    "48": "invalid/missing referring provider identification number",
    "49": "provider is not primary care physician",
    "50": "provider ineligible for inquiries",
    "51": "provider not on file",
    "52": "service dates not within provider plan enrollment",
    "53": "inquired benefit inconsistent with provider type",
    "54": "inappropriate product/service id qualifier",
    "55": "inappropriate product/service id",
    "56": "inappropriate date",
    "57": "invalid/missing date(s) of service",
    "58": "invalid/missing date-of-birth",
    "60": "date of birth follows date(s) of service",
    "61": "date of death precedes date(s) of service",
    "62": "date of service not within allowable inquiry period",
    "63": "date of service in future",
    "64": "invalid/missing patient id",
    "65": "invalid/missing patient name",
    "66": "invalid/missing patient gender code",
    "67": "patient not found",
    "68": "duplicate patient id number",
    "69": "inconsistent with patient's age",
    "70": "inconsistent with patient's gender",
    "71": "patient birth date does not match that for the patient on the database",
    "72": "invalid/missing subscriber/insured id",
    "73": "invalid/missing subscriber/insured name",
    "74": "invalid/missing subscriber/insured gender code",
    "75": "subscriber/insured not found",
    "76": "duplicate subscriber/insured id number",
    "77": "subscriber found, patient not found",
    "78": "subscriber/insured not in group/plan identified",
    "79": "invalid participant identification",
    "80": "no response received - transaction terminated",
    "97": "invalid or missing provider address",
    "98": "experimental service or procedure",
    "AA": "authorization number not found",
    "AE": "requires primary care physician authorization",
    "AF": "invalid/missing diagnosis code(s)",
    "AG": "invalid/missing procedure code(s)",
    "AO": "additional patient condition information required",
    "CI": "certification information does not match patient",
    "E8": "requires medical review",
    "IA": "invalid authorization number format",
    "MA": "missing authorization number",
    "T4": "payer name or identifier missing",
}
# AAA04
FOLLOW_UP_ACTIONS: dict[str, str] = {
    "C": "please correct and resubmit",
    "N": "resubmission not allowed",
    "P": "please resubmit original transaction",
    "R": "resubmission allowed",
    "S": "do not resubmit; inquiry initiated to a third party",
    "W": "please wait 30 days and resubmit",
    "X": "please wait 10 days and resubmit",
    "Y": "do not resubmit",
}

# DTP01 in the subscriber or dependent name loop: plan and eligibility dates
PLAN_BEGIN = "346"
PLAN_END = "347"
PLAN = "291"
ELIGIBILITY_BEGIN = "356"
ELIGIBILITY_END = "357"
ELIGIBILITY = "307"


def words(table: dict[str, str], code: str, what: str) -> str:
    """The code's words, or 'what CODE' for a code this service does not name."""
    return table.get(code, f"{what} {code}")


def service_type_words(code: str) -> str:
    """'BE massage therapy', 'service type 98' for a code not named here."""
    if not code:
        return "no service type stated"
    name = SERVICE_TYPES.get(code)
    return f"{code} {name}" if name else f"service type {code}"
