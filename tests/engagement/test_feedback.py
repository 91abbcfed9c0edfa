"""Feedback to members: who may give it, on what, the email, the audit trail and the pages."""

import datetime
import itertools

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts_registry.models import AuditEvent, Role
from engagement.models import Feedback
from engagement.services.feedback import feedback_give
from monitoring.models import Message
from tests.factories import SocialAccountFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)> hx-get=/x hx-trigger=load'
_ids = itertools.count(1)


def post(account, *, direction="outbound", text="Stay safe on the roads tonight.", author_name=""):
    number = next(_ids)
    return Message.objects.create(
        platform=account.platform, external_id=f"f{number}", account=account, direction=direction,
        kind="post" if direction == "outbound" else "mention", author_id=f"id{number}", author_handle=account.handle,
        author_name=author_name or account.handle, text=text, created_at=T0, content_hash="x",
        url=f"https://x.example/{number}",
    )  # fmt: skip


@pytest.fixture
def comms(org):
    user = UserFactory.create(username="north-comms", first_name="Casey", last_name="Comms")
    grant(user, Role.COMMS_MANAGER, org["north"])
    return user


@pytest.fixture
def holder(north_member):
    """The login of the member who holds north_account."""
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    return user


@pytest.fixture
def north_post(north_account):
    return post(north_account)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the after-commit callbacks (the email) as a committed request would."""

    def run(function, /, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


# --- The service ----------------------------------------------------------------------------------


def test_comms_manager_gives_kudos(north_post, north_member, comms, on_commit):
    feedback = on_commit(feedback_give, message=north_post, kind="kudos", text="  Great tone, Alex.  ", actor=comms,
                         site_url="https://chorus.example/")  # fmt: skip
    assert (feedback.member, feedback.kind, feedback.text, feedback.author) == (
        north_member,
        "kudos",
        "Great tone, Alex.",
        comms,
    )
    event = AuditEvent.objects.get(verb="feedback.give")
    assert (event.actor, event.target_id, event.unit_id) == (comms, str(feedback.pk), north_post.account.unit_id)
    assert event.after["kind"] == "kudos"
    [email] = mail.outbox
    assert email.to == [north_member.email]
    assert email.subject == "Kudos on your post from TPS11Alex"
    assert "Casey Comms left you kudos on your post" in email.body
    assert "Stay safe on the roads tonight." in email.body
    assert "Great tone, Alex." in email.body
    assert f"https://chorus.example/insights/members/{north_member.pk}/feedback/" in email.body


def test_supervisor_and_admin_of_the_unit_may_give_feedback(north_post, viewer, owner, admin_user, on_commit):
    for actor in (viewer, owner, admin_user):
        on_commit(feedback_give, message=north_post, kind="coaching", text="Add the road closure link.", actor=actor)
    assert Feedback.objects.count() == 3
    assert len(mail.outbox) == 3
    assert mail.outbox[0].subject == "Coaching on your post from TPS11Alex"


def test_email_keeps_the_text_as_typed(north_account, comms, on_commit):
    message = post(north_account, text=HOSTILE)
    on_commit(feedback_give, message=message, kind="coaching", text=HOSTILE, actor=comms)
    body = mail.outbox[0].body
    assert body.count("<script>alert(1)</script>") == 2  # plain text: nothing to escape, nothing rendered
    assert getattr(mail.outbox[0], "alternatives", []) == []  # no HTML part


def test_no_email_without_an_address_but_feedback_saved(north_post, north_member, comms, on_commit):
    north_member.email = ""
    north_member.save(update_fields=["email"])
    on_commit(feedback_give, message=north_post, kind="kudos", text="Nice.", actor=comms)
    assert Feedback.objects.filter(member=north_member).count() == 1
    assert mail.outbox == []


def test_no_email_when_the_transaction_rolls_back(north_post, comms, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        feedback_give(message=north_post, kind="kudos", text="Nice.", actor=comms)
    assert len(callbacks) == 1  # the email waits for the commit
    assert mail.outbox == []


def test_inbound_messages_take_no_feedback(north_account, comms):
    with pytest.raises(ValidationError, match="own posts"):
        feedback_give(message=post(north_account, direction="inbound"), kind="kudos", text="Nice.", actor=comms)
    assert Feedback.objects.count() == 0


def test_accounts_without_holder_take_no_feedback(org, comms):
    unit_account = SocialAccountFactory.create(handle="MPS11Div", kind="unit", unit=org["11"])
    with pytest.raises(ValidationError, match="no holder"):
        feedback_give(message=post(unit_account), kind="kudos", text="Nice.", actor=comms)
    assert not AuditEvent.objects.filter(verb="feedback.give").exists()


@pytest.mark.parametrize(("kind", "text"), [("praise", "Nice."), ("kudos", "   "), ("kudos", "x" * 4001)])
def test_bad_kind_or_text_is_refused(north_post, comms, kind, text):
    with pytest.raises(ValidationError):
        feedback_give(message=north_post, kind=kind, text=text, actor=comms)


def test_members_and_outsiders_may_not_give_feedback(north_post, holder, outsider, org):
    member_role = UserFactory.create(username="member-role")
    grant(member_role, Role.MEMBER, org["north"])
    for actor in (holder, outsider, member_role):
        with pytest.raises(PermissionDenied):
            feedback_give(message=north_post, kind="kudos", text="Me!", actor=actor)
    assert Feedback.objects.count() == 0


# --- Giving feedback: the page ------------------------------------------------------------------


def test_feedback_page_shows_the_post_and_the_form(client, north_post, viewer):
    client.force_login(viewer)
    response = client.get(reverse("insights:message-feedback", args=[north_post.pk]))
    assertContains(response, "Stay safe on the roads tonight.")
    assertContains(response, "Alex North")
    assertContains(response, 'name="text"')
    assertContains(response, 'value="coaching"')


def test_feedback_page_post_redirects_then_lists_it(
    client, north_post, north_member, comms, django_capture_on_commit_callbacks
):
    client.force_login(comms)
    url = reverse("insights:message-feedback", args=[north_post.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"kind": "kudos", "text": "Clear and kind."})
    assertRedirects(response, url, fetch_redirect_response=False)
    assert Feedback.objects.get().text == "Clear and kind."
    assert mail.outbox[0].to == [north_member.email]
    assert f"http://testserver/insights/members/{north_member.pk}/feedback/" in mail.outbox[0].body
    response = client.get(url)
    assertContains(response, "Kudos sent to Alex North.")
    assertContains(response, "Clear and kind.")


def test_feedback_htmx_post_swaps_the_panel(client, north_post, comms):
    client.force_login(comms)
    url = reverse("insights:message-feedback", args=[north_post.pk])
    response = client.post(url, {"kind": "coaching", "text": "Mention 911."}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="feedback-panel"' in body
    assert "Coaching sent to Alex North." in body
    assert "Mention 911." in body
    assert "HX-Request" in response["Vary"]


def test_invalid_feedback_rerenders_with_200(client, north_post, comms):
    client.force_login(comms)
    url = reverse("insights:message-feedback", args=[north_post.pk])
    response = client.post(url, {"kind": "kudos", "text": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assertContains(response, "This field is required.")
    assertNotContains(response, "<html")
    response = client.post(url, {"kind": "medal", "text": "Nice"})
    assert response.status_code == 200
    assertContains(response, "Select a valid choice.")
    assert Feedback.objects.count() == 0


def test_feedback_page_for_an_account_without_holder(client, org, comms):
    message = post(SocialAccountFactory.create(handle="MPS11Div", kind="unit", unit=org["11"]))
    client.force_login(comms)
    url = reverse("insights:message-feedback", args=[message.pk])
    response = client.get(url)
    assertContains(response, "Nobody holds this account.")
    assertNotContains(response, 'name="text"')
    response = client.post(url, {"kind": "kudos", "text": "Nice"})
    assertContains(response, "no holder")
    assert Feedback.objects.count() == 0


def test_feedback_page_scoping(client, north_account, north_post, holder, outsider, comms):
    url = reverse("insights:message-feedback", args=[north_post.pk])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"kind": "kudos", "text": "x"}).status_code == 404
    client.force_login(holder)  # sees the account, may not give feedback
    assert client.get(url).status_code == 403
    assert client.post(url, {"kind": "kudos", "text": "Me!"}).status_code == 403
    client.force_login(comms)
    inbound = post(north_account, direction="inbound")
    assert client.get(reverse("insights:message-feedback", args=[inbound.pk])).status_code == 404
    assert Feedback.objects.count() == 0


def test_feedback_page_escapes_hostile_text(client, north_account, comms):
    message = post(north_account, text=HOSTILE, author_name=HOSTILE)
    Feedback.objects.create(message=message, member=north_account.holder, kind="coaching", text=HOSTILE, author=comms)
    client.force_login(comms)
    response = client.get(reverse("insights:message-feedback", args=[message.pk]))
    assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;", count=4)  # author, post, feedback, excerpt
    assertNotContains(response, "<script>alert")
    assertNotContains(response, "<img src=x")
    escaped = (
        "&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt; hx-get=/x hx-trigger=load"
    )
    assertContains(response, f'<p class="text">{escaped}</p>', count=2)  # the htmx attributes stay text


# --- A member's feedback ------------------------------------------------------------------------


@pytest.fixture
def given(north_post, north_member, comms):
    return Feedback.objects.create(
        message=north_post, member=north_member, kind="kudos", text="Well handled.", author=comms
    )


def test_member_sees_their_own_feedback(client, given, north_member, holder):
    client.force_login(holder)
    response = client.get(reverse("insights:member-feedback", args=[north_member.pk]))
    assertContains(response, "<html")
    assertContains(response, "Well handled.")
    assertContains(response, "Casey Comms")
    assertContains(response, "Stay safe on the roads tonight.")


def test_member_feedback_fragment(client, given, north_member, viewer):
    client.force_login(viewer)
    response = client.get(reverse("insights:member-feedback", args=[north_member.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="member-feedback"' in body
    assert "Well handled." in body
    assert "HX-Request" in response["Vary"]


def test_member_feedback_scoping(client, given, north_member, south_member, outsider, holder):
    url = reverse("insights:member-feedback", args=[north_member.pk])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 404
    south_user = UserFactory.create(username="sam")
    south_member.user = south_user
    south_member.save(update_fields=["user"])
    client.force_login(south_user)  # another member
    assert client.get(url).status_code == 404
    client.force_login(holder)  # and the member may not read another member's feedback
    assert client.get(reverse("insights:member-feedback", args=[south_member.pk])).status_code == 404


def test_member_feedback_escapes_hostile_text(client, north_account, north_member, holder, comms):
    message = post(north_account, text=HOSTILE)
    Feedback.objects.create(message=message, member=north_member, kind="coaching", text=HOSTILE, author=comms)
    client.force_login(holder)
    response = client.get(reverse("insights:member-feedback", args=[north_member.pk]))
    assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;", count=2)
    assertNotContains(response, "<script>alert")
    assertNotContains(response, "<img src=x")


def test_member_feedback_empty(client, north_member, holder):
    client.force_login(holder)
    assertContains(client.get(reverse("insights:member-feedback", args=[north_member.pk])), "No feedback yet.")


# --- The link from the account's messages -----------------------------------------------------------


def test_account_messages_link_outbound_posts_to_feedback(client, north_account, north_post, viewer, holder):
    inbound = post(north_account, direction="inbound", text="hello")
    url = reverse("monitoring:account-messages", args=[north_account.pk])
    client.force_login(viewer)
    response = client.get(url)
    assertContains(response, reverse("insights:message-feedback", args=[north_post.pk]))
    assertNotContains(response, reverse("insights:message-feedback", args=[inbound.pk]))
    client.force_login(holder)  # the member who holds the account does not give feedback
    assertNotContains(client.get(url), "Give feedback")
