"""Fixtures of the monitoring tests: webhook secrets and the org accounts the webhook deliveries address."""

import pytest

from tests.factories import SocialAccountFactory
from tests.monitoring.webhook_payloads import APP_SECRET, PAGE_ID, VERIFY_TOKEN, X_ORG_ID, X_SECRET


@pytest.fixture
def webhook_settings(settings):
    settings.CHORUS_X_CONSUMER_SECRET = X_SECRET
    settings.CHORUS_FACEBOOK_APP_SECRET = APP_SECRET
    settings.CHORUS_FACEBOOK_VERIFY_TOKEN = VERIFY_TOKEN
    return settings


@pytest.fixture
def x_account(org):
    return SocialAccountFactory.create(platform="x", handle="AcmeCoffee", external_id=X_ORG_ID, unit=org["11"])


@pytest.fixture
def page_account(org):
    return SocialAccountFactory.create(platform="facebook", handle="acmecoffee", external_id=PAGE_ID, unit=org["11"])
