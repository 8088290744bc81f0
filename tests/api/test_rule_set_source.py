"""`source` in rule-set answers is the file name the analyst published, never a path of the
server's (seeded files) or of the analyst's machine (uploads)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.usecases.rule_sets import file_name
from tests.api.rules_helpers import REPO_ROOT, acme_variant, clients_for, running_server


def test_file_name_drops_every_folder() -> None:
    assert file_name("/home/analyst/rules/acme 2027.yaml") == "acme 2027.yaml"
    assert file_name("C:\\Users\\analyst\\acme.yaml") == "acme.yaml"
    assert file_name("  acme.yaml ") == "acme.yaml"


def test_answers_never_show_a_server_or_client_path(tmp_path: Path) -> None:
    with running_server(tmp_path / "s.db") as app, clients_for(app.target) as c:
        published = c.rules.PublishRuleSet(
            rpb.PublishRuleSetRequest(
                content=acme_variant("2028.1", date(2028, 1, 1), None),
                source="/home/analyst/work/acme-2028.yaml",
                published_by="analyst",
            )
        )
        assert published.rule_set.source == "acme-2028.yaml"
        listed = c.rules.ListRuleSets(rpb.ListRuleSetsRequest())
        sources = {r.source for r in listed.rule_sets}
    assert "acme-2028.yaml" in sources and "acme-health/2026.yaml" in sources
    for source in sources:
        assert not source.startswith("/") and str(REPO_ROOT) not in source, source
        assert str(tmp_path) not in source
