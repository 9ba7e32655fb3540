"""A message translated when its module is imported stays in the language active then
(English, at start-up) for every later reader: at module and class level only the lazy
gettext_lazy family may be called. A static check over the project's modules."""

import ast
from pathlib import Path

from django.conf import settings

PROJECT_PACKAGES = ["crm_project", "customers", "segmentation", "sales_pipeline", "loyalty", "complaints", "reporting"]
EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def eager_calls_at_import(source: str) -> list[int]:
    """Line numbers of calls to an eager gettext (by the name it was imported as) that
    run when the module is imported: outside any function or lambda."""
    tree = ast.parse(source)
    names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
        for alias in node.names
        if alias.name in EAGER
    }
    found = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, SCOPES):
                continue
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id in names:
                found.append(child.lineno)
            visit(child)

    visit(tree)
    return found


def test_the_check_finds_module_and_class_level_calls_only():
    source = (
        "from django.utils.translation import gettext as _, gettext_lazy\n"
        "A = _('x')\n"
        "B = gettext_lazy('ok')\n"
        "class C:\n"
        "    label = _('y')\n"
        "    def f(self):\n"
        "        return _('fine')\n"
        "key = lambda: _('fine too')\n"
    )
    assert eager_calls_at_import(source) == [2, 5]


def test_no_message_is_translated_at_import_time():
    root = Path(settings.BASE_DIR)
    found = [
        f"{path.relative_to(root)}:{line}"
        for package in PROJECT_PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        for line in eager_calls_at_import(path.read_text())
    ]
    assert found == []
