"""Issue 12's review pages in chromium at 1366x900 and 390x844, signed in as a service admin over a busy
organization (tests/e2e/review_scene.py): the policy queue (one row per post, 8 rows a screen, review in
place, coaching history in place, no sideways scroll on a phone), the health page (filters, pages), the
leaderboard's unit names, the navigation (one line; a phone menu) and the "first poll" notice. Each page's
screenshots at both sizes land in var/test-artifacts/."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts_registry.models import Role
from policies.models import PolicyFlag
from tests.e2e import figures, review_scene
from tests.factories import MemberFactory, UserFactory, grant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(org):
    return review_scene.build(org)


def test_policy_queue_one_row_per_post_reviewed_once(page, page_log, live_server, login, scene):
    login("chief-admin", review_scene.PASSWORD)
    url = f"{live_server.url}{reverse('policies:queue')}"
    page.set_viewport_size(figures.DESKTOP)
    page.goto(url)
    rows = page.locator("[data-flag-row]")
    expect(rows).to_have_count(review_scene.POSTS)  # 30 posts, 90 flags
    assert figures.rows_on_first_screen(page, "[data-flag-row]") >= 8
    first = rows.first
    expect(first.locator(".reasons")).to_contain_text("Date of birth")
    expect(first.locator(".reasons")).to_contain_text("Street address")
    expect(first.locator(".reasons")).to_contain_text("Occurrence number")
    expect(first.locator("[data-snippet] mark")).to_have_count(3)
    expect(first.locator("time")).to_have_attribute("title", re.compile(r"^Posted "))

    # Acknowledge the row in place: the post's three flags are acknowledged, the tabs count one post.
    lead_id = int((first.get_attribute("id") or "").removeprefix("flag-row-"))
    first.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#flag-row-{lead_id} .badge-acknowledged")).to_have_text("Acknowledged")
    expect(page.locator("#flag-counts")).to_contain_text(re.compile(r"Acknowledged\s*1\b"))
    message = PolicyFlag.objects.get(pk=lead_id).message
    assert set(PolicyFlag.objects.filter(message=message).values_list("status", flat=True)) == {"acknowledged"}
    figures.shoot(page, "policy-queue-desktop")

    # No sideways scrolling on a phone, the long unit filter included.
    page.set_viewport_size(figures.PHONE)
    page.goto(url)
    assert figures.horizontal_overflow(page) == 0
    figures.shoot(page, "policy-queue-phone")
    page_log.assert_clean()


def test_coaching_a_post_updates_the_flag_history_in_place(page, page_log, live_server, login, org, scene):
    member = MemberFactory.create(unit=scene["deeper"], full_name="Robin Quinn")
    poster = scene["poster"]
    poster.kind, poster.holder = "personal", member
    poster.save(update_fields=["kind", "holder"])
    flag = PolicyFlag.objects.filter(rule__severity="warning").order_by("pk")[0]
    login("chief-admin", review_scene.PASSWORD)
    page.goto(f"{live_server.url}{reverse('policies:flag', args=[flag.pk])}")
    expect(page.get_by_role("heading", name="This post also broke")).to_be_visible()
    expect(page.locator("#flag-history")).to_be_hidden()
    page.get_by_label(re.compile("Coaching for the member")).fill("Please keep dates of birth off social media.")
    page.get_by_role("button", name="Send coaching").click()
    history = page.locator("#flag-history")
    expect(history).to_be_visible()
    expect(history).to_contain_text("sent coaching to the member")
    expect(page.locator("#review")).to_contain_text("Coaching sent to Robin Quinn")
    figures.shoot(page, "flag-page-after-coaching-desktop")
    page_log.assert_clean()


def test_health_page_filters_and_pages(page, page_log, live_server, login, scene):
    login("chief-admin", review_scene.PASSWORD)
    url = f"{live_server.url}{reverse('monitoring:health')}"
    page.set_viewport_size(figures.DESKTOP)
    page.goto(url)
    expect(page.locator("#health-accounts")).to_contain_text("page 1 of")
    page.get_by_label("State").select_option("failing")
    expect(page).to_have_url(re.compile(r"problem=failing"))
    expect(page.locator("#health-accounts tbody tr")).to_have_count(22)  # every 7th of 150 fails
    page.get_by_label("Platform").select_option("bluesky")
    expect(page.locator("#health-accounts")).to_contain_text("No accounts match.")
    page.goto(f"{url}?problem=ok")
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#health-accounts")).to_contain_text("page 2 of")
    figures.shoot_both(page, url, "health")
    page.set_viewport_size(figures.PHONE)
    page.goto(url)
    assert figures.horizontal_overflow(page) == 0
    page_log.assert_clean()


def test_leaderboard_navigation_and_phone_menu(page, page_log, live_server, login, org, scene):
    login("chief-admin", review_scene.PASSWORD)
    page.set_viewport_size(figures.DESKTOP)
    page.goto(f"{live_server.url}{reverse('insights:leaderboard')}")
    # The navigation is one line at 1366 px, even for a staff admin of the whole service.
    assert page.locator(".topbar").bounding_box()["height"] < 60
    wide = page.locator(".nav-wide")
    wide.get_by_text("Manage", exact=True).click()
    expect(wide.get_by_role("link", name="Rules")).to_be_visible()

    unit = page.locator("th.row-heading a").first
    expect(unit).to_have_attribute("title", re.compile("^Metro Police Service/"))
    assert unit.evaluate("(link) => getComputedStyle(link.closest('th')).textTransform") == "none"
    figures.shoot_both(page, f"{live_server.url}{reverse('insights:leaderboard')}", "leaderboard")

    # A phone: the wide navigation is gone, a menu opens (a <details>: no JavaScript needed).
    page.set_viewport_size(figures.PHONE)
    page.goto(f"{live_server.url}{reverse('registry:tree')}")
    expect(page.locator(".nav-wide")).to_be_hidden()
    menu = page.locator(".nav-phone")
    expect(menu.get_by_role("link", name="Health")).to_be_hidden()
    menu.locator("summary").click()
    expect(menu.get_by_role("link", name="Health")).to_be_visible()
    figures.shoot(page, "phone-menu-open")
    with page.expect_navigation():
        menu.get_by_role("link", name="Health").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Polling health")
    assert figures.horizontal_overflow(page) == 0
    page_log.assert_clean()


def test_first_poll_notice_shows_while_accounts_wait(page, page_log, live_server, login, org, north_account):
    supervisor = UserFactory.create(username="north-sup", password=review_scene.PASSWORD)
    grant(supervisor, Role.SUPERVISOR, org["north"])
    login("north-sup", review_scene.PASSWORD)
    page.goto(f"{live_server.url}{reverse('policies:queue')}")
    notice = page.locator("#first-poll")
    expect(notice).to_contain_text("First poll in progress")
    expect(notice).to_contain_text("1 account has not been polled yet")
    figures.shoot(page, "first-poll-notice-desktop")
    page_log.assert_clean()
