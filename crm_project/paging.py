"""One guard for every list page's `?per_page=`: django-tables2 reads it straight from the
query string, where a negative number ends in a 500 and a huge one renders a whole table
at once. Out-of-range or unreadable values are dropped or capped before any view runs."""

MAX_PER_PAGE = 500


def sane_per_page(raw: str) -> str | None:
    try:
        number = int(raw)
    except ValueError:
        return None
    return str(min(number, MAX_PER_PAGE)) if number >= 1 else None


class PagingGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "per_page" in request.GET:
            query = request.GET.copy()
            value = sane_per_page(query["per_page"])
            if value is None:
                del query["per_page"]
            else:
                query["per_page"] = value
            query._mutable = False
            request.GET = query
        return self.get_response(request)
