"""What the models give a person to read (their names, their fields' labels and their
choices' labels, shown in forms, tables, filters, exports' headings and the admin) goes
through translation: lazy strings, resolved in the reader's language."""

import pytest
from django.apps import apps
from django.utils.functional import Promise

PROJECT_APPS = ["customers", "segmentation", "sales_pipeline", "loyalty", "complaints", "reporting"]


def labels_not_marked(app_label):
    found = []
    for model in apps.get_app_config(app_label).get_models():
        name = model.__name__
        for attribute in ("verbose_name", "verbose_name_plural"):
            if not isinstance(getattr(model._meta, attribute), Promise):
                found.append(f"{name}.Meta.{attribute}")
        for field in model._meta.get_fields():
            if not field.concrete or field.auto_created:
                continue
            if not isinstance(field.verbose_name, Promise):
                found.append(f"{name}.{field.name}")
            found.extend(
                f"{name}.{field.name} choice {value!r}"
                for value, label in field.flatchoices
                if not isinstance(label, Promise)
            )
    return found


@pytest.mark.parametrize("app_label", PROJECT_APPS)
def test_model_labels_are_marked_for_translation(app_label):
    assert labels_not_marked(app_label) == []
