"""common/jinja.py: the Jinja2 fragments escape exactly as Django's templates do, and cannot be told not to."""

import jinja2
import pytest
from django import forms
from django.template import engines
from django.test import RequestFactory
from django.utils.html import escape, format_html

from common.jinja import FormRenderer, django_escape, environment, render_fragment

HOSTILE = "<script>alert(1)</script> \"><img src=x onerror=alert(1)> 'quoted' & hx-get=/x"


def render(source: str, **context):
    return engines["jinja2"].from_string(source).render(context)


def test_values_are_escaped_with_djangos_entities():
    assert render("<p title='{{ text }}'>{{ text }}</p>", text=HOSTILE) == (
        f"<p title='{escape(HOSTILE)}'>{escape(HOSTILE)}</p>"
    )
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in render("{{ text }}", text=HOSTILE)
    assert "&#x27;quoted&#x27;" in render("{{ text }}", text=HOSTILE)


def test_html_made_safe_elsewhere_passes_once_and_only_that():
    marked = format_html("{}<mark>{}</mark>", HOSTILE, "x")
    assert render("{{ value }}", value=marked) == str(marked)
    assert str(django_escape(marked)) == str(marked)


def test_the_environment_autoescapes_whatever_the_options_say():
    env = environment(autoescape=False, loader=jinja2.DictLoader({"t": "{{ text }}"}))
    assert env.get_template("t").render(text="<b>") == "&lt;b&gt;"


def test_an_undefined_name_is_an_error():
    with pytest.raises(jinja2.UndefinedError):
        render("{{ misspelt }}")


@pytest.mark.django_db
def test_a_rendered_fragment_escapes_hostile_text():
    request = RequestFactory().get("/")
    options = [("1", HOSTILE, True), ("2", "<i>plain</i>", False)]
    html = render_fragment(request, "engagement/select_options.html", {"options": options})
    assert "<script>" not in html and "<img" not in html and "<i>" not in html
    assert f'<option value="1" selected>{escape(HOSTILE)}</option>' in html
    assert hasattr(html, "__html__")  # a Django template outputs it as it is


def test_every_way_of_writing_a_value_escapes_it_exactly_once():
    # Values are escaped by finalize alone (common.jinja._EscapeOnce): none is left raw, none escaped twice.
    source = (
        "{{ text }}|{% set block %}<b>{{ text }}</b>{% endset %}{{ block }}|{{ text ~ '!' }}|"
        "{% autoescape false %}{{ text }}{% endautoescape %}|{% autoescape on_off %}{{ text }}{% endautoescape %}"
    )
    once = escape(HOSTILE)
    assert render(source, text=HOSTILE, on_off=False) == f"{once}|<b>{once}</b>|{once}!|{once}|{once}"


class _Form(forms.Form):
    text = forms.CharField(label="Search")
    kind = forms.ChoiceField(choices=[("", "Any"), ("a", HOSTILE)], required=False)
    only = forms.BooleanField(required=False, label="Questions only")


def test_the_form_renderer_writes_djangos_html_with_djangos_entities():
    # common.jinja.FormRenderer (the inbox's filter form): Django's own widgets, escaped as Django escapes,
    # the only difference the blank lines Django's template language leaves between a select's options.
    data = {"text": HOSTILE, "kind": "bogus", "only": "on"}
    ours, django = _Form(data, renderer=FormRenderer()), _Form(data)
    assert ours.errors == django.errors
    for name in ("text", "kind", "only"):
        expected = str(django[name].label_tag()) + str(django[name])
        assert str(ours[name].label_tag()) + str(ours[name]) == expected.replace("\n\n", "\n")
    assert f'value="{escape(HOSTILE)}"' in str(ours["text"])
    assert 'aria-invalid="true"' in str(ours["kind"])
