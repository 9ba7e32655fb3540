"""Every URL of the project, read from the resolver, so new pages are tested for access
without anyone remembering to add them."""

from django.urls import URLPattern, URLResolver, get_resolver

# Pages anyone may open without logging in: a customer's single-use survey link (tested in
# tests/complaints/test_public_survey.py), and the pages a campaign e-mail links to, which
# carry a signed token instead of a login (tests/loyalty); the load balancer's /health/
# (tests/reliability/test_health.py: it says "ok" or "unavailable", nothing more).
# The password reset pages (tests/reliability/test_password_reset.py).
PUBLIC = {"login", "logout", "health", "survey:public", "loyalty:campaign_track", "loyalty:unsubscribe",
          "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete"}


def all_url_patterns(resolver=None, namespace: str = "", prefix: str = ""):
    """(full name, route, pattern) for every named pattern outside Django admin."""
    resolver = resolver or get_resolver()
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            if item.namespace == "admin" or item.app_name == "admin":
                continue
            ns = f"{namespace}{item.namespace}:" if item.namespace else namespace
            yield from all_url_patterns(item, ns, prefix + str(item.pattern))
        elif isinstance(item, URLPattern) and item.name:
            yield f"{namespace}{item.name}", prefix + str(item.pattern), item


def url_kwargs(pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.converters)


def object_url_names():
    return sorted(name for name, _, pattern in all_url_patterns() if url_kwargs(pattern))


def plain_url_names():
    return sorted(name for name, _, pattern in all_url_patterns() if not url_kwargs(pattern))
