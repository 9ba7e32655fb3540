"""Every word a person reads in a template goes through translation: text and the
attributes read aloud or shown (title, placeholder, aria-label, alt) sit inside
{% translate %} or {% blocktranslate %}. A static check, template by template, so that a
new page cannot slip English into the French and Russian catalogs' blind spot."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

TEMPLATE_ROOT = Path(settings.BASE_DIR) / "templates"
TEMPLATES = sorted(TEMPLATE_ROOT.glob("**/*.html"))

# Blocks whose content is either translated as a whole or never shown.
SKIPPED_BLOCKS = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
    "verbatim": "endverbatim",
}
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
# Names and abbreviations that stay as they are in every language.
UNTRANSLATED = {"CRM", "ABC", "XYZ", "RFM", "KPI", "KPIs", "CSV", "XLSX", "PDF", "NPS", "CSAT", "POS"}
WORD = re.compile(r"[^\W\d_]{2,}")
PLACEHOLDER = "\x00"


def skeleton(source):
    """The template with its tags and variables replaced by a placeholder, and the
    blocks above left out: what is left is the text written into the template."""
    parts, closing = [], None
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split(maxsplit=1)[0] if token.contents else ""
            if closing:
                closing = None if name == closing else closing
            elif name in SKIPPED_BLOCKS:
                closing = SKIPPED_BLOCKS[name]
                parts.append(PLACEHOLDER)
            elif name in {"translate", "trans"}:
                parts.append(PLACEHOLDER)
            continue
        if closing or token.token_type == TokenType.COMMENT:
            continue
        parts.append(token.contents if token.token_type == TokenType.TEXT else PLACEHOLDER)
    return "".join(parts)


class _TextCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._hidden += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self._check(f'{name}="{value}"', value)
            if name == "value" and dict(attrs).get("type") in {"submit", "button", "reset"}:
                self._check(f'value="{value}"', value or "")

    def handle_endtag(self, tag):
        if tag in {"script", "style"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self._check(data, data)

    def _check(self, shown, text):
        words = [word for word in WORD.findall(text.replace(PLACEHOLDER, " ")) if word not in UNTRANSLATED]
        if words:
            self.found.append(" ".join(shown.replace(PLACEHOLDER, "…").split()))


def untranslated_text(source):
    collector = _TextCollector()
    collector.feed(skeleton(source))
    collector.close()
    return collector.found


def test_the_check_finds_text_and_attributes_and_passes_translated_ones():
    source = """{% load i18n %}<h1>Customers</h1><p>{% translate "Deals" %}</p>
        <input placeholder="Search" aria-label="{% translate 'Search' %}">
        <button title="{{ label }}">{% blocktranslate %}Save {{ n }} rows{% endblocktranslate %}</button>
        {# a comment #}{% comment %}Old text{% endcomment %}<script>const x = "Hello";</script>
        <span>{{ value }} · 12 %</span> <abbr>ABC</abbr> <b>Выручка</b>"""
    assert untranslated_text(source) == ["Customers", 'placeholder="Search"', "Выручка"]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(TEMPLATE_ROOT)))
def test_template_text_is_marked_for_translation(path):
    assert untranslated_text(path.read_text()) == []
