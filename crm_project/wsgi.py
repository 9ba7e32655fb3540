import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
application = get_wsgi_application()


def _freeze_startup_objects() -> None:
    """Load every view module, then move what is loaded by now out of the garbage
    collector's sight: these objects live as long as the process, and a full collection
    walking them took 110-126 ms of one request in about forty (issue 15, profiled on the
    agenda). Requests' own garbage is still collected."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 -- imports the URLconf and every view module
    gc.collect()
    gc.freeze()


_freeze_startup_objects()
