"""The Contacts page (the HTMX request behind search, sort and paging): the first page against
page 500 reached through a keyset cursor, in a workspace of 100,000 contacts, logged in through
the real login form. Keyset pagination should make both cost the same; the page also counts the
matching contacts, which both pay alike."""
from sqlalchemy import select

from ..client import login, request
from ..runner import Result

TITLE = "Contacts page: first page vs page 500 (keyset)"
TARGET_PAGE = 500


def _cursor_for_page(bench, page_number: int) -> tuple[str, int]:
    """The cursor the "Next" link of page `page_number - 1` carries (newest first)."""
    from sureapp.contacts.browse import PAGE_SIZE
    from sureapp.contacts.query import NEWEST_FIRST
    from sureapp.extensions import db
    from sureapp.models import Contact
    from sureapp.pagination import encode_cursor

    with bench.app().app_context():
        total = bench.settings.contacts
        # Smoke runs have few contacts: go as deep as the data allows.
        page_number = min(page_number, max(total // PAGE_SIZE, 2))
        offset = (page_number - 1) * PAGE_SIZE - 1  # the last row of the previous page
        last = db.session.scalar(select(Contact).where(
            Contact.workspace_id == bench.seed.workspace_id)
            .order_by(*NEWEST_FIRST.order_by()).offset(offset).limit(1))
        cursor = encode_cursor(NEWEST_FIRST, NEWEST_FIRST.values_of(last))
        db.session.remove()
    return cursor, page_number


def run(bench) -> list[Result]:
    server = bench.sureapp()
    cookie = login(server.url, bench.seed.user_email, bench.seed.password)
    headers = {"Cookie": cookie, "HX-Request": "true"}
    cursor, page_number = _cursor_for_page(bench, TARGET_PAGE)
    first = f"{server.url}/w/{bench.seed.workspace_id}/contacts"
    deep = f"{first}?cursor={cursor}"
    for url in (first, deep):  # both must render full pages, or the comparison means nothing
        status, _, body = request("GET", url, headers)
        if status != 200 or body.count(b'name="contact_ids"') != 50:
            raise RuntimeError(f"{url} answered {status} without a full page of contacts")

    runs = bench.alternate(lambda: bench.load(deep, headers=headers),
                           lambda: bench.load(first, headers=headers))
    ratio = runs.median("baseline", "rps") / runs.median("variant", "rps")
    return [
        Result("contacts_page", f"page {page_number} / first page time", ratio, "x", "<= 1.3",
               detail=f"page {page_number} {runs.describe('variant')}; first {runs.describe('baseline')}"),
        Result("contacts_page", f"page {page_number} p50 latency", runs.median("variant", "p50_ms"),
               "ms", detail=f"first page {runs.median('baseline', 'p50_ms'):.2f} ms, "
                            f"{bench.settings.contacts:,} contacts"),
    ]
