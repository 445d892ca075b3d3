"""Preservation rules: a YAML policy per format, validated with file:line errors, and matched
against what the archive holds."""

from .load import Problem, RulesetError, check, default_rules_path, load_ruleset
from .model import Action, Finding, Rule, Ruleset

__all__ = [
    "Action",
    "Finding",
    "Problem",
    "Rule",
    "Ruleset",
    "RulesetError",
    "check",
    "default_rules_path",
    "load_ruleset",
]
