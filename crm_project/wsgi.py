import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
application = get_wsgi_application()


GC_YOUNG_THRESHOLD = 10_000


def _freeze_startup_objects() -> None:
    """Load every view module, then move what is loaded by now out of the garbage
    collector's sight: these objects live as long as the process, and a full collection
    walking them took 110-126 ms of one request in about forty (issue 15, profiled on the
    agenda). Requests' own garbage is still collected."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 -- imports the URLconf and every view module
    gc.collect()
    gc.freeze()
    # A young-generation collection every 10,000 new objects instead of 700: a page builds
    # and drops tens of thousands (querysets, template nodes, rows), most freed by their
    # reference count before any collection would see them, and at 700 the ones a request
    # holds to its end were walked again and again as they aged. Over the load test's pages
    # the collector's time went from 0.6-0.7 to 0.4 ms a request (bench/README.md); what
    # waits for a collection is 10,000 objects at most.
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)


_freeze_startup_objects()
