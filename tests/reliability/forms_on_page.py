"""The forms on a rendered page, read with the standard library's HTML parser: where each
posts and the names (and offered values) of its fields, for the fuzz tests."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> offered values
    kinds: dict[str, str] = field(default_factory=dict)  # name -> input type / select / textarea


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method = (attrs.get("method") or attrs.get("hx-post") and "post" or "get").lower()
            self._form = Form(method=method, action=attrs.get("hx-post") or attrs.get("action") or "")
            self.forms.append(self._form)
            return
        if tag == "option" and self._form is not None and self._select:
            self._form.fields[self._select].append(attrs.get("value") or "")
            return
        if self._form is None or not attrs.get("name"):
            return
        name = attrs["name"]
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            self._form.kinds[name] = kind
            self._form.fields.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "textarea":
            self._form.kinds[name] = "textarea"
            self._form.fields.setdefault(name, [])
        elif tag == "select":
            self._select = name
            self._form.kinds[name] = "select"
            self._form.fields.setdefault(name, [])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_on(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms
