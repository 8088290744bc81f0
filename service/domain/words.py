"""Plain words for codes and counts, shared by the engine's reasons and line items."""

from __future__ import annotations

from service.domain.model import Injury, ProviderCredential, ReferralKind, UnitMethod

INJURY_WORDS = {
    Injury.AUTO: "auto-accident injuries belong to the auto (PIP) carrier",
    Injury.WORK: "work injuries belong to the workers' compensation carrier",
}

REFERRAL_WORDS = {
    ReferralKind.NONE: "no referral",
    ReferralKind.PHYSICIAN_REFERRAL: "a physician referral",
    ReferralKind.PRESCRIPTION: "a prescription",
    ReferralKind.INTEGRATIVE_CARE_PLAN: "an integrative care plan referral",
}

UNIT_METHOD_WORDS = {
    UnitMethod.CMS_8_MINUTE: "the CMS 8-minute rule",
    UnitMethod.AMA_PER_CODE: "the AMA per-code rule",
    UnitMethod.PER_VISIT_FLAT: "the 8-minute rule (the plan pays a flat amount per visit)",
}

PROVIDER_WORDS = {
    ProviderCredential.LMT: "a licensed massage therapist",
    ProviderCredential.PT: "a physical therapist",
    ProviderCredential.DC: "a chiropractor",
    ProviderCredential.MD_DO: "a physician (MD or DO)",
}


def session_words(session_type: str) -> str:
    return session_type.replace("_", " ")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def either(words: list[str]) -> str:
    """ "a, b or c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
