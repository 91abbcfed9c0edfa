"""common.filters: one parser for every list's filters — the same answer on a page, an export and the API."""

import datetime

import pytest
from django import forms
from django.http import Http404, QueryDict

from common.filters import BooleanFilter, ChoiceFilter, FilterForm, IdFilter, InvalidFilters, MomentFilter, ObjectFilter


def _lookup(*, user, pk):
    if pk != 7:
        raise Http404
    return f"object {pk} for {user}"


class Filters(FilterForm):
    kind = ChoiceFilter(choices=[("", "Any"), ("a", "A"), ("b", "B")])
    count = IdFilter(required=False)
    thing = ObjectFilter(_lookup)
    flag = BooleanFilter()
    since = MomentFilter()
    q = forms.CharField(required=False, max_length=5)


def parse(query, **kwargs):
    return Filters(QueryDict(query), user="ann", **kwargs).parse()


def test_empty_means_not_given_and_the_last_repeated_value_counts():
    data = parse("kind=&count=&thing=&flag=&since=")
    assert (data["kind"], data["count"], data["thing"], data["flag"], data["since"]) == ("", None, None, None, None)
    assert parse("kind=a&kind=b")["kind"] == "b"


def test_values_parse():
    data = parse("kind=a&count=12&thing=7&flag=false&since=2026-11-20T15:00:00%2B05:00")
    assert data["thing"] == "object 7 for ann"
    assert data["flag"] is False
    assert data["since"] == datetime.datetime(2026, 11, 20, 10, tzinfo=datetime.UTC)
    assert parse("flag=1")["flag"] is True
    assert parse("flag=on")["flag"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=c", "kind"),
        ("count=-1", "count"),
        ("count=0", "count"),
        ("count=" + "1" * 30, "count"),
        ("thing=abc", "thing"),
        ("flag=maybe", "flag"),
        ("since=2026-13-45", "since"),
        ("q=toolong", "q"),
    ],
)
def test_a_malformed_value_names_its_field(query, field):
    with pytest.raises(InvalidFilters) as raised:
        parse(query)
    assert list(raised.value.errors) == [field]
    form = Filters(QueryDict(query), user="ann")
    assert field not in form.valid_values()  # a page leaves it out and shows form.errors
    assert field in form.errors


def test_an_object_outside_the_scope_is_a_404_even_for_a_page():
    with pytest.raises(Http404):
        parse("thing=8")
    with pytest.raises(Http404):
        Filters(QueryDict("thing=8"), user="ann").valid_values()
    # Only a link carried back after an action drops it instead.
    form = Filters(QueryDict("thing=8&kind=a"), user="ann", refuse_out_of_scope=False)
    assert form.valid_values() == {"kind": "a", "count": None, "flag": None, "since": None, "q": ""}
