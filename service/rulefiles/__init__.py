"""Payer rule files (YAML under payer_rules/) -> validated domain objects.

An adapter around the domain core: payer analysts write and review the files; this package
checks them with messages that name the file, the field and the problem, and builds the
frozen dataclasses of service.domain.model. See docs/rule-format.md for the format.
"""

from service.rulefiles.canonical import canonical_json, content_checksum, with_later_defaults
from service.rulefiles.clinic import load_clinic_file, parse_clinic
from service.rulefiles.loader import (
    CLINIC_FILE_NAME,
    DEFAULT_RULES_DIR,
    ParsedRuleSet,
    check_across_files,
    load_clinic_of_dir,
    load_rule_set_file,
    load_rules_dir,
    parse_rule_set,
    parse_rule_set_content,
    validate_rule_set,
    validate_rule_set_content,
)
from service.rulefiles.problems import Problem, RuleFileError

__all__ = [
    "CLINIC_FILE_NAME",
    "DEFAULT_RULES_DIR",
    "ParsedRuleSet",
    "Problem",
    "RuleFileError",
    "canonical_json",
    "check_across_files",
    "content_checksum",
    "load_clinic_file",
    "load_clinic_of_dir",
    "load_rule_set_file",
    "load_rules_dir",
    "parse_clinic",
    "parse_rule_set",
    "parse_rule_set_content",
    "validate_rule_set",
    "validate_rule_set_content",
    "with_later_defaults",
]
