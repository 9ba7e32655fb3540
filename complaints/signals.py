"""The deal's closing grade follows the survey rule without sales_pipeline knowing about
complaints: a post_save receiver on Deal, connected in ComplaintsConfig.ready()."""

from django.db import transaction


def deal_saved(sender, instance, created, update_fields=None, **kwargs):
    if instance.closing_grade is None or instance.closing_grade > 3:
        return
    if update_fields is not None and "closing_grade" not in update_fields:
        return
    from .services import deal_grade_complaint

    # In the deal's own transaction: the grade and its complaint are saved together.
    with transaction.atomic():
        deal_grade_complaint(deal=instance)
