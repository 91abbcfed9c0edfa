"""What a browser keeps of a signed-in session: no cached pages, no htmx history snapshots, cleared at logout.

These failed before: HTML responses carried no Cache-Control, htmx kept page snapshots (message text
included) in localStorage, and logout sent no Clear-Site-Data.
"""

import json
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_authenticated_response_is_no_store(client, viewer):
    client.force_login(viewer)
    for url in (reverse("inbox:index"), reverse("registry:tree"), reverse("monitoring:health"), "/no-such-page/"):
        response = client.get(url)
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url


def test_htmx_fragments_are_no_store_too(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("inbox:index"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_htmx_history_cache_is_off_on_every_page(client, viewer):
    client.force_login(viewer)
    body = client.get(reverse("inbox:index")).content.decode()
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", body)
    assert meta is not None
    config = json.loads(meta.group(1))
    assert config["historyCacheSize"] == 0
    assert config["refreshOnHistoryMiss"] is True
    assert re.search(r"<body[^>]* hx-history=\"false\"", body)


def test_logout_clears_the_browsers_cache_and_storage(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert "no-store" in response["Cache-Control"]
    assert client.get(reverse("inbox:index")).status_code == 302  # and the session is gone


def test_a_get_to_logout_clears_nothing(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("account_logout"))
    assert response.status_code == 200  # allauth asks "Are you sure?": a GET signs nobody out
    assert "Clear-Site-Data" not in response
    assert client.get(reverse("inbox:index")).status_code == 200
