"""docs/security.md §4: no template or Python module switches Django's autoescaping off for user data.

Every `|safe`, `|safeseq`, `{% autoescape off %}`, `mark_safe`, `format_html`, `SafeString` or
`is_safe=True` in the project's templates and code — and Jinja2's `{% autoescape false %}`, `Markup` and
`autoescape=False` (common/jinja.py) — must be in ALLOWED with the reason it is safe there.
Untrusted text (posts, names, rules, notes) always goes through autoescaping or format_html's arguments.
"""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", ".tools", "var", "node_modules", ".git", "tests", "typings", "static"}
PATTERNS = {
    ".html": re.compile(r"\|\s*safe(seq)?\b|\{%-?\s*autoescape\s+(off|false)\b"),
    ".txt": re.compile(r"\|\s*safe(seq)?\b|\{%\s*autoescape\s+off\b"),
    ".py": re.compile(
        r"\bmark_safe\b|\bformat_html(_join)?\b|\bSafeString\b|\bSafeText\b|is_safe\s*=\s*True|\bMarkup\b"
        r"|autoescape\s*=\s*False"
    ),
}
# path relative to the repository → why the unescaped output there cannot carry user data.
ALLOWED: dict[str, str] = {
    "monitoring/search.py": (
        "highlight() builds the search matches with format_html_join/format_html: the text between, inside and "
        "around every <mark> is escaped as arguments (tests/monitoring/test_search.py, hostile markup inside "
        "and around the matches)."
    ),
    "engagement/selectors/inbox_display.py": (
        "SafeString only as the type of InboxRow.highlighted, the value monitoring.search.highlight built."
    ),
    "monitoring/selectors.py": "SafeString only as the type of Thread.entries: monitoring.search.highlight's value.",
    "common/jinja.py": (
        "render_fragment marks as markup the output of a Jinja2 template whose environment always autoescapes "
        "(environment() forces autoescape=True and escapes every value with django_escape); django_escape "
        "marks text it has just escaped (tests/common/test_jinja.py, hostile text through a fragment)."
    ),
}


def findings(text: str, suffix: str) -> list[str]:
    pattern = PATTERNS[suffix]
    return [line.strip() for line in text.splitlines() if pattern.search(line)]


def project_files():
    """Every template and module of the project, the skipped top-level folders never entered (.venv alone
    holds tens of thousands of files)."""
    for directory, subdirectories, names in os.walk(ROOT):
        if Path(directory) == ROOT:
            subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRS]
        for name in names:
            path = Path(directory, name)
            if path.suffix in PATTERNS and path.is_file() and path.relative_to(ROOT).parts[0] not in SKIPPED_DIRS:
                yield path.relative_to(ROOT).as_posix(), path


def test_no_file_turns_escaping_off():
    hits = {}
    for relative, path in project_files():
        lines = findings(path.read_text(encoding="utf-8"), path.suffix)
        if lines and relative not in ALLOWED:
            hits[relative] = lines
    assert hits == {}, f"unescaped output outside the allowlist (add a reason to ALLOWED or escape): {hits}"


def test_allowlist_is_not_stale():
    files = dict(project_files())
    for relative in ALLOWED:
        assert relative in files and findings(files[relative].read_text(encoding="utf-8"), files[relative].suffix), (
            f"{relative} is allowlisted but no longer turns escaping off: remove it from ALLOWED"
        )


def test_the_scan_sees_every_form():
    html = [
        "{{ note.text|safe }}",
        "{{ names | safeseq }}",
        "{% autoescape off %}{{ x }}{% endautoescape %}",
        "{% autoescape false %}{{ x }}{% endautoescape %}",
    ]
    python = [
        "return mark_safe(text)",
        "format_html('<b>{}</b>', name)",
        "SafeString(x)",
        "@register.filter(is_safe=True)",
        "return Markup(text)",
        "jinja2.Environment(autoescape=False)",
    ]
    assert findings("\n".join(html), ".html") == html
    assert findings("\n".join(python), ".py") == python
    assert findings("{{ text|linebreaksbr }} {{ safety }}", ".html") == []
    assert any(relative.startswith("templates/") for relative, _ in project_files()), "the scan found no template"
