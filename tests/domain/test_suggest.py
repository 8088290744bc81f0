"""The one "did you mean": near names only, and not a far one beside a near one."""

from service.domain.suggest import close_matches, did_you_mean

PAYERS = ["acme-health", "birch-health", "lakeside-health", "cedar-mutual", "contoso-health"]


def test_a_near_name_alone_when_the_others_are_far() -> None:
    # difflib ratios: acme-health 0.95, lakeside-health 0.64, birch-health 0.64.
    assert close_matches("acme-helth", PAYERS, most=3) == ["acme-health"]
    assert did_you_mean("acme-helth", PAYERS, most=3) == " (did you mean 'acme-health'?)"


def test_names_about_as_near_are_all_offered() -> None:
    assert close_matches("acme-ppo-gld", ["acme-ppo-gold", "acme-ppo-old"], most=3) == [
        "acme-ppo-gold",
        "acme-ppo-old",
    ]


def test_nothing_near() -> None:
    assert close_matches("zzz", PAYERS, most=3) == []
    assert did_you_mean("zzz", PAYERS) == ""
