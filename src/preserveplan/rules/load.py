"""Load and validate rulesets (YAML), reporting every problem with its file and line.

ruamel.yaml's round-trip loader is used because it keeps line numbers; it builds only plain
mappings, lists and scalars (no Python objects from tags), like a safe loader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import PreserveplanError
from ..pronom import formats, is_puid
from .model import (
    FINDINGS,
    MATCH_KEYS,
    REQUIRED_FINDINGS,
    RISKS,
    STATUSES,
    TARGETS,
    TOOLS,
    Action,
    Finding,
    Output,
    Rule,
    Ruleset,
)

TOP_KEYS = {"ruleset", "version", "title", "description", "extends", "findings", "rules"}
RULE_KEYS = {"id", "title", "match", "status", "risk", "action", "rationale", "source"}
ACTION_KEYS = {"tool", "target", "target_puid", "keep_original", "also"}
OUTPUT_KEYS = {"tool", "target", "target_puid"}
FINDING_KEYS = {"status", "risk", "rationale", "source"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RulesetError(PreserveplanError):
    """A ruleset that cannot be used; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def bundled_rules_dir() -> Path:
    """The shipped rules folder: inside an installed package (``preserveplan/rules_data``,
    built from the top-level ``rules/``), or the source checkout's ``rules/``."""
    here = Path(__file__).resolve()
    installed = here.parents[1] / "rules_data"
    if (installed / "default.yaml").is_file():
        return installed
    return here.parents[3] / "rules"


def default_rules_path() -> Path:
    return bundled_rules_dir() / "default.yaml"


def load_ruleset(path: str | Path | None = None) -> Ruleset:
    """Load a ruleset (default: the shipped ``rules/default.yaml``) with everything it extends."""
    problems: list[Problem] = []
    ruleset = _load_chain(Path(path) if path else default_rules_path(), problems, [])
    if ruleset is not None:
        problems.extend(_ambiguities(ruleset))
    if problems or ruleset is None:
        raise RulesetError(problems or [Problem(str(path), 0, "not a ruleset")])
    return ruleset


def check(paths: list[str | Path]) -> list[Problem]:
    """Every problem in these ruleset files (empty list: all good)."""
    problems: list[Problem] = []
    for path in paths:
        try:
            load_ruleset(path)
        except RulesetError as exc:
            problems.extend(exc.problems)
    return problems


class _File:
    """One YAML file's text and position helpers."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path = path
        self.name = str(path)
        self.problems = problems

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.name, line, message))

    def read(self) -> Any:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self.error(0, f"cannot read: {exc.strerror or exc}")
            return None
        except UnicodeDecodeError as exc:
            self.error(0, f"not UTF-8 text: {exc}")
            return None
        try:
            return YAML(typ="rt", pure=True).load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 0
            self.error(line, f"YAML error: {exc.problem or exc.context}")
        except YAMLError as exc:
            self.error(0, f"YAML error: {exc}")
        return None


def _line(node: Any, key: Any = None) -> int:
    try:
        if key is None:
            return int(node.lc.line) + 1
        if isinstance(node, CommentedSeq):
            return int(node.lc.item(key)[0]) + 1
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return 0


def _load_chain(path: Path, problems: list[Problem], seen: list[Path]) -> Ruleset | None:
    resolved = path.resolve()
    if resolved in seen:
        problems.append(
            Problem(
                str(path),
                0,
                "extends itself (a cycle: " + " -> ".join(str(p) for p in [*seen, resolved]) + ")",
            )
        )
        return None
    f = _File(path, problems)
    doc = f.read()
    if doc is None:
        return None
    if not isinstance(doc, CommentedMap):
        f.error(_line(doc) if doc is not None else 1, "a ruleset must be a mapping")
        return None
    for key in doc:
        if key not in TOP_KEYS:
            f.error(
                _line(doc, key), f"unknown key {key!r} (allowed: {', '.join(sorted(TOP_KEYS))})"
            )
    base: Ruleset | None = None
    extends = doc.get("extends")
    if extends:
        target = _resolve_extends(str(extends), path)
        if target is None:
            f.error(_line(doc, "extends"), f"extends {extends!r}: no such ruleset")
        else:
            base = _load_chain(target, problems, [*seen, resolved])
    name = _text(f, doc, "ruleset", required=True)
    version = _text(f, doc, "version", required=True)
    findings = dict(base.findings) if base else {}
    findings.update(_findings(f, doc.get("findings"), doc, require_all=base is None))
    rules = list(base.rules) if base else []
    positions = {r.id: i for i, r in enumerate(rules)}
    own_ids: dict[str, int] = {}
    raw_rules = doc.get("rules")
    if raw_rules is None:
        raw_rules = CommentedSeq()
    if not isinstance(raw_rules, CommentedSeq):
        f.error(_line(doc, "rules"), "'rules' must be a list")
        raw_rules = CommentedSeq()
    for index, raw in enumerate(raw_rules):
        rule = _rule(f, raw, _line(raw_rules, index))
        if rule is None:
            continue
        if rule.id in own_ids:
            f.error(
                _line(raw_rules, index),
                f"duplicate rule id {rule.id!r} (first at line {own_ids[rule.id]})",
            )
            continue
        own_ids[rule.id] = _line(raw_rules, index)
        if rule.id in positions:
            rules[positions[rule.id]] = rule  # override the base rule with the same id
        else:
            positions[rule.id] = len(rules)
            rules.append(rule)
    if name is None or version is None:
        return None
    return Ruleset(
        name=name,
        version=version,
        rules=rules,
        findings=findings,
        title=str(doc.get("title") or ""),
        description=str(doc.get("description") or ""),
        chain=[*(base.chain if base else []), str(path)],
    )


def _resolve_extends(value: str, current: Path) -> Path | None:
    candidates = []
    if value.endswith((".yaml", ".yml")) or "/" in value:
        candidates.append(current.parent / value)
    else:
        candidates += [current.parent / f"{value}.yaml", current.parent.parent / f"{value}.yaml"]
        candidates.append(bundled_rules_dir() / f"{value}.yaml")
    return next((c for c in candidates if c.is_file() and c.resolve() != current.resolve()), None)


def _text(f: _File, node: CommentedMap, key: str, *, required: bool) -> str | None:
    value = node.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            f.error(_line(node), f"missing {key!r}")
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        f.error(_line(node, key), f"{key!r} must be text")
        return None
    return str(value)


def _choice(f: _File, node: CommentedMap, key: str, allowed: tuple[str, ...]) -> str | None:
    value = _text(f, node, key, required=True)
    if value is not None and value not in allowed:
        f.error(_line(node, key), f"{key} {value!r} is not one of: {', '.join(allowed)}")
        return None
    return value


def _findings(f: _File, raw: Any, doc: CommentedMap, *, require_all: bool) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    if raw is None:
        if require_all:
            f.error(_line(doc), f"missing 'findings' ({', '.join(REQUIRED_FINDINGS)})")
        return out
    if not isinstance(raw, CommentedMap):
        f.error(_line(doc, "findings"), "'findings' must be a mapping")
        return out
    for key, node in raw.items():
        if key not in FINDINGS:
            f.error(_line(raw, key), f"unknown finding {key!r} (allowed: {', '.join(FINDINGS)})")
            continue
        if not isinstance(node, CommentedMap):
            f.error(_line(raw, key), f"finding {key!r} must be a mapping")
            continue
        for k in node:
            if k not in FINDING_KEYS:
                f.error(_line(node, k), f"unknown key {k!r} in finding {key!r}")
        status = _choice(f, node, "status", STATUSES)
        risk = _choice(f, node, "risk", RISKS)
        rationale = _text(f, node, "rationale", required=True)
        source = _text(f, node, "source", required=True)
        if status and risk and rationale and source:
            out[key] = Finding(status, risk, rationale, source)
    if require_all:
        for key in REQUIRED_FINDINGS:
            if key not in raw:
                f.error(_line(raw), f"missing finding {key!r}")
    return out


def _rule(f: _File, raw: Any, line: int) -> Rule | None:
    if not isinstance(raw, CommentedMap):
        f.error(line, "a rule must be a mapping")
        return None
    ok = True
    for key in raw:
        if key not in RULE_KEYS:
            f.error(
                _line(raw, key), f"unknown key {key!r} (allowed: {', '.join(sorted(RULE_KEYS))})"
            )
            ok = False
    rule_id = _text(f, raw, "id", required=True)
    if rule_id is not None and not ID_RE.match(rule_id):
        f.error(_line(raw, "id"), f"rule id {rule_id!r}: use lower-case letters, digits and '-'")
        ok = False
    match = _match(f, raw)
    status = _choice(f, raw, "status", STATUSES)
    risk = _choice(f, raw, "risk", RISKS)
    rationale = _text(f, raw, "rationale", required=True)
    source = _text(f, raw, "source", required=True)
    action = None
    if "action" in raw and raw["action"] is not None:
        action = _action(f, raw)
        if status is not None and status != "migrate":
            f.error(
                _line(raw, "action"), f"an action is only for status 'migrate' (not {status!r})"
            )
            ok = False
    elif status == "migrate":
        f.error(_line(raw), f"rule {rule_id!r}: status 'migrate' needs an 'action'")
        ok = False
    if not (ok and rule_id and match and status and risk and rationale and source):
        return None
    if status == "migrate" and action is None:
        return None
    return Rule(
        id=rule_id,
        match_key=match[0],
        values=match[1],
        status=status,
        risk=risk,
        rationale=rationale,
        source=source,
        title=str(raw.get("title") or ""),
        action=action,
        origin=f"{f.name}:{_line(raw)}",
    )


def _match(f: _File, raw: CommentedMap) -> tuple[str, tuple[str, ...]] | None:
    node = raw.get("match")
    if not isinstance(node, CommentedMap) or not node:
        f.error(_line(raw, "match") if "match" in raw else _line(raw), "missing or empty 'match'")
        return None
    keys = list(node)
    bad = [k for k in keys if k not in MATCH_KEYS]
    for key in bad:
        f.error(_line(node, key), f"unknown match key {key!r} (allowed: {', '.join(MATCH_KEYS)})")
    if bad:
        return None
    if len(keys) != 1:
        f.error(
            _line(raw, "match"),
            f"match on exactly one of {', '.join(MATCH_KEYS)} (found {', '.join(keys)})",
        )
        return None
    key = keys[0]
    values = node[key]
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        f.error(_line(node, key), f"match {key!r} must be a non-empty list")
        return None
    clean: list[str] = []
    known = formats()
    for i, value in enumerate(values):
        line = _line(values, i) if isinstance(values, CommentedSeq) else _line(node, key)
        if not isinstance(value, str) or not value.strip():
            f.error(line, f"match {key!r}: {value!r} is not text")
            continue
        value = value.strip()
        if key == "puid":
            if not is_puid(value):
                f.error(line, f"malformed PUID {value!r} (like fmt/412 or x-fmt/18)")
                continue
            if value not in known:
                f.error(line, f"unknown PUID {value!r} (not in PRONOM V125)")
                continue
        if key == "ext":
            value = value.lower().lstrip(".")
        clean.append(value)
    if len(clean) != len(values):
        return None
    return key, tuple(clean)


def _action(f: _File, raw: CommentedMap) -> Action | None:
    node = raw["action"]
    if not isinstance(node, CommentedMap):
        f.error(_line(raw, "action"), "'action' must be a mapping")
        return None
    for key in node:
        if key not in ACTION_KEYS:
            f.error(_line(node, key), f"unknown key {key!r} in action")
    main = _output(f, node, None)
    keep = node.get("keep_original", True)
    if not isinstance(keep, bool):
        f.error(_line(node, "keep_original"), "keep_original must be true or false")
        return None
    also: list[Output] = []
    extra = node.get("also")
    if extra is not None:
        if not isinstance(extra, CommentedSeq) or not extra:
            f.error(_line(node, "also"), "'also' must be a list of outputs (tool, target, ...)")
            return None
        for item in extra:
            if not isinstance(item, CommentedMap):
                f.error(_line(node, "also"), "each 'also' entry must be a mapping")
                return None
            for key in item:
                if key not in OUTPUT_KEYS:
                    f.error(_line(item, key), f"unknown key {key!r} in an 'also' output")
            out = _output(f, item, main.tool if main else None)
            if out is None:
                return None
            also.append(out)
    if main is None:
        return None
    targets = [o.target for o in (main, *also)]
    if len(set(targets)) != len(targets):
        f.error(_line(node), f"an action's outputs need different targets (got {targets})")
        return None
    return Action(main.tool, main.target, main.target_puid, keep, tuple(also))


def _output(f: _File, node: CommentedMap, default_tool: str | None) -> Output | None:
    """tool (default: the action's), target and target_puid of one output."""
    if default_tool is not None and "tool" not in node:
        tool: str | None = default_tool
    else:
        tool = _choice(f, node, "tool", TOOLS)
    target = _choice(f, node, "target", TARGETS)
    target_puid = _text(f, node, "target_puid", required=True)
    if target_puid is not None and (not is_puid(target_puid) or target_puid not in formats()):
        f.error(_line(node, "target_puid"), f"target_puid {target_puid!r} is not a known PUID")
        target_puid = None
    if tool and target:
        from ..migrate.registry import MODULES

        makes = tuple(MODULES[tool].TARGETS)
        if target not in makes:
            f.error(
                _line(node, "target"),
                f"tool {tool!r} cannot make target {target!r} (it makes: {', '.join(makes)})",
            )
            return None
    if tool and target and target_puid:
        return Output(tool, target, target_puid)
    return None


def _ambiguities(ruleset: Ruleset) -> list[Problem]:
    """Two rules matching the same value at the same level: an error, never a silent pick."""
    problems = []
    seen: dict[tuple[str, str], Rule] = {}
    for rule in ruleset.rules:
        for value in rule.values:
            other = seen.get((rule.match_key, value))
            if other is not None and other.id != rule.id:
                file, _, line = rule.origin.rpartition(":")
                problems.append(
                    Problem(
                        file,
                        int(line or 0),
                        f"rule {rule.id!r} and rule {other.id!r} (at {other.origin}) both match "
                        f"{rule.match_key} {value!r} with equal specificity",
                    )
                )
            else:
                seen[(rule.match_key, value)] = rule
    return problems
