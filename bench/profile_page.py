#!/usr/bin/env python
"""Profile one page in-process with pyinstrument (pip install pyinstrument), on a database
that bench_pages.py built, as a given user: a warm-up, then N requests under the profiler.

    .venv/bin/python bench/profile_page.py --database crm_bench_pages50k /customers/ [--user bench_director] [-n 10]
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--database", default="crm_bench_pages")
    parser.add_argument("--user", default="bench_manager0")
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--html", help="write pyinstrument's HTML report here")
    parser.add_argument("--cprofile", action="store_true", help="cProfile's top functions by own time instead")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
    os.environ["DEBUG"] = "true"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=args.user))
    client.get(args.url)
    if args.cprofile:
        import cProfile
        import pstats

        with cProfile.Profile() as profile:
            for _ in range(args.n):
                client.get(args.url)
        stats = pstats.Stats(profile).sort_stats("tottime")
        stats.print_stats(35)
        stats.sort_stats("cumtime").print_stats(60)
        return 0
    from pyinstrument import Profiler  # only here: --cprofile runs without it

    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(args.n):
            assert client.get(args.url).status_code == 200
    if args.html:
        Path(args.html).write_text(profiler.output_html())
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
