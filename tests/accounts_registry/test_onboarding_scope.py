"""Onboarding refuses a handle or external id registered outside the admin's scope in neutral words.

Failed before: "… is already registered" was said for any account of the organization, so an admin could
probe which handles other units hold; the message now says only that it is not available to them (the
registration still cannot happen: handles are unique), never where or by whom.
"""

import pytest
from django.urls import reverse

from accounts_registry.services.accounts import OUT_OF_SCOPE_HINT, OnboardingRequest, onboarding_errors
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db


def _request(org, handle, external_id=""):
    return OnboardingRequest(platform="x", handle=handle, kind="unit", unit=org["11"], external_id=external_id)


def test_an_out_of_scope_handle_gets_a_neutral_refusal(org, owner, south_account):
    errors = onboarding_errors(_request(org, south_account.handle.upper()), actor=owner)
    assert errors == [f"{south_account.handle.upper()} cannot be registered on X: {OUT_OF_SCOPE_HINT}"]


def test_an_in_scope_handle_is_named_as_registered(org, owner, north_account):
    assert onboarding_errors(_request(org, north_account.handle), actor=owner) == [
        f"{north_account.handle} is already registered on X."
    ]


def test_an_out_of_scope_external_id_gets_a_neutral_refusal(org, owner):
    SocialAccountFactory.create(platform="x", handle="SouthDesk", external_id="777", unit=org["51"])
    assert onboarding_errors(_request(org, "NewNorth", external_id="777"), actor=owner) == [
        f"External id 777 cannot be used on X: {OUT_OF_SCOPE_HINT}"
    ]


def test_the_onboarding_page_leaks_nothing_about_the_other_units_account(client, org, owner, south_account):
    client.force_login(owner)
    response = client.post(
        reverse("registry:onboard"),
        {"step": "review", "platform": "x", "handle": south_account.handle, "kind": "unit", "unit": org["11"].pk},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "not available to you" in body
    for leak in ("51 Station", "South Division", south_account.holder.full_name, "already registered"):
        assert leak not in body
