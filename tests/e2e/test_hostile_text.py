"""docs/security.md §3: hostile text stays text, checked in a real browser.

Every payload of tests/security/hostile.py (≥ 100: script tags, event handlers, javascript:/data: URLs,
SVG, broken markup, attribute breakouts, htmx attributes, RTL overrides, zero-width characters,
10,000-character strings, template syntax) is stored at once as message text, author names and handles,
message URLs, notes, rule names and explanations, flag excerpts, unit names, member names and account
handles (of dormant accounts). A handful of pages showing them all are loaded in headless chromium as the
service admin; on each: no dialog opens, the `window.__pwned` canary stays unset, no element carries an
injected tag or attribute, no request goes anywhere but the pages' own URLs and static files, no CSP
violation, and the payloads are visible as text.
"""

import datetime
from urllib.parse import urlparse

import pytest
from django.urls import Resolver404, resolve
from django.utils import timezone
from playwright.sync_api import expect

from accounts_registry.models import Member, Role, SocialAccount
from engagement.models import TriageItem, TriageNote
from monitoring.models import Message
from policies.models import PolicyFlag, PolicyRule
from tests.factories import SocialAccountFactory, UserFactory, grant, make_unit
from tests.security.hostile import PAYLOADS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"

# Runs before the page's own scripts: the canary and a record of every dialog.
CANARY = "window.__pwned = undefined;"

# Injected markup would show up as one of these in the DOM (every payload marks its elements `pwn`).
INJECTED = """() => {
  const found = [];
  const tags = "script:not([src^='/static/']), iframe, object, embed, frame, base, meta[http-equiv], form[action*=pwn]";
  for (const el of document.querySelectorAll(tags)) found.push(el.outerHTML.slice(0, 120));
  // Django's CSRF tokens are random letters and digits: one may contain "pwn" by chance. They are the
  // server's, never a payload's, so they are taken out of the values before looking.
  const tokens = new Set();
  for (const el of document.querySelectorAll("input[name=csrfmiddlewaretoken]")) tokens.add(el.value);
  for (const el of document.querySelectorAll("[data-csrftoken]")) tokens.add(el.dataset.csrftoken);
  for (const el of document.querySelectorAll("[hx-headers]")) {
    try { tokens.add(JSON.parse(el.getAttribute("hx-headers"))["X-CSRFToken"]); } catch (error) {}
  }
  tokens.delete(undefined);
  const withoutTokens = (text) => [...tokens].reduce((rest, token) => rest.split(token).join(""), text);
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase(), value = withoutTokens(attr.value).toLowerCase();
      // A post's own https link is shown on purpose (escaped, rel=noopener); it may contain anything.
      if (name === "href" && value.startsWith("https://")) continue;
      if (name.startsWith("on") || name.includes("pwn") || value.includes("pwn")
          || ((name === "href" || name === "src" || name === "action" || name.endsWith(":href"))
              && /^\\s*(javascript|data|vbscript):/.test(value))) {
        found.push(el.tagName + " " + attr.name + "=" + attr.value.slice(0, 80));
      }
    }
  }
  return found;
}"""


def _normalized(text):
    return " ".join(text.split())


@pytest.fixture
def hostile_world(org):
    """All payloads in one database state; returns the URLs of the pages that show them."""
    now = timezone.now()
    admin = UserFactory.create(username="hostile-admin", password=PASSWORD)
    grant(admin, Role.ADMIN, org["root"])
    account = SocialAccountFactory.create(handle="MetroNorth", platform="x", kind="unit", unit=org["north"])
    inbound, posts, rules = [], [], []
    for index, payload in enumerate(PAYLOADS):
        unit = make_unit(f"{payload[:190]} {index}", org["traffic"])
        member = Member.objects.create(full_name=payload[:200], badge_number=f"H{index:04d}", unit=unit)
        SocialAccount.objects.create(
            platform="bluesky", handle=f"{payload[:180]}{index}", kind="personal", unit=unit, holder=member,
            status=SocialAccount.Status.ACTIVE, onboarded_at=now - datetime.timedelta(days=400),  # dormant
        )  # fmt: skip
        common = {"platform": "x", "account": account, "author_id": f"a{index}", "content_hash": f"h{index}"}
        inbound.append(Message(
            external_id=f"in-{index}", direction="inbound", kind="mention", text=payload,
            author_handle=payload[:300], author_name=payload[:300], url=payload[:500],
            created_at=now - datetime.timedelta(minutes=index + 1),
            conversation_id="hostile-1" if index % 2 == 0 else "hostile-2", **common,
        ))  # fmt: skip
        posts.append(Message(
            external_id=f"out-{index}", direction="outbound", kind="post", text=payload, author_handle="MetroNorth",
            author_name="Metro North", url=payload[:500], created_at=now - datetime.timedelta(hours=index + 1),
            conversation_id=f"out-{index}", **common,
        ))  # fmt: skip
        rules.append(PolicyRule(name=payload[:200], explanation=payload, kind="keywords", config={"terms": ["x"]}))
    Message.objects.bulk_create(inbound + posts)
    items = TriageItem.objects.bulk_create(
        TriageItem(
            message=message, account=account, platform="x", created_at=message.created_at,
            conversation_id=message.conversation_id, author_id=message.author_id,
        )
        for message in inbound
    )  # fmt: skip
    PolicyRule.objects.bulk_create(rules)
    PolicyFlag.objects.bulk_create(
        PolicyFlag(rule=rule, account=account, message=post, spans=[], excerpt=post.text[:500])
        for rule, post in zip(rules, posts, strict=True)
    )
    TriageNote.objects.bulk_create(
        TriageNote(item=items[0], author=admin, text=payload[:4000], created_at=now + datetime.timedelta(seconds=i))
        for i, payload in enumerate(PAYLOADS)
    )
    first_flag = PolicyFlag.objects.order_by("pk")[0]
    return {
        "inbox": "/inbox/",
        "thread 1 and notes": f"/inbox/{items[0].pk}/",
        "thread 2": f"/inbox/{items[1].pk}/",
        "review queue": "/policies/",
        "flag": f"/policies/flags/{first_flag.pk}/",
        "rules": "/policies/rules/",
        "unit page": f"/org/units/{org['traffic'].pk}/",
        "governance": "/org/governance/",
        "account messages": f"/monitoring/accounts/{account.pk}/messages/",
        "member": f"/org/members/{Member.objects.filter(badge_number='H0000').get().pk}/",
        "printable report": f"/overview/units/{org['traffic'].pk}/report/",
        "dormant accounts": "/monitoring/dormant/",
    }


def test_hostile_text_renders_inert_on_every_page(page, page_log, live_server, login, hostile_world):
    dialogs, requests = [], []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.set_default_timeout(60_000)  # pages with a hundred hostile rows each, on a shared machine
    page.on("request", lambda request: requests.append(request.url))
    page.add_init_script(CANARY)
    login("hostile-admin", PASSWORD)
    origin = urlparse(live_server.url).netloc
    short = [p for p in PAYLOADS if len(p) <= 60 and _normalized(p) and "\x1b" not in p and "\u0007" not in p]

    for name, path in hostile_world.items():
        requests.clear()
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__pwned") is None, f"{name}: a payload ran script"
        assert page.evaluate(INJECTED) == [], f"{name}: injected markup"
        for url in requests:
            parsed = urlparse(url)
            assert parsed.netloc == origin, f"{name}: request to another host: {url}"
            assert "pwn" not in url.lower(), f"{name}: a payload fired a request: {url}"
            if not parsed.path.startswith("/static/"):
                try:
                    resolve(parsed.path)
                except Resolver404:
                    pytest.fail(f"{name}: a request to a URL the app does not serve: {url}")
        text = _normalized(page.locator("body").inner_text())
        visible = [payload for payload in short if _normalized(payload) in text]
        assert visible, f"{name}: no payload is visible as text"
        if name in ("thread 1 and notes", "rules", "unit page"):
            missing = [payload for payload in short if _normalized(payload) not in text]
            assert not missing, f"{name}: payloads not shown as text: {missing[:5]}"
    assert dialogs == []
    page_log.assert_clean()
