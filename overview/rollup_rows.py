"""The rows of a roll-up table, rendered by one Jinja2 template (overview/jinja2/overview/rollup_rows.html,
common/jinja.py): in the Django template language they were most of the overview's rendering time. The
formatting is the overview's own (templatetags/overview.py), called as functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils.text import capfirst

from common.jinja import render_fragment
from overview.charts import sparkline
from overview.templatetags.overview import duration, share, waited

if TYPE_CHECKING:
    from django.http import HttpRequest

    from common.jinja import Fragment
    from overview.selectors.rollup import UnitRollup

ROWS_TEMPLATE = "overview/rollup_rows.html"


def rows_html(request: HttpRequest, rows: list[UnitRollup], *, query: str) -> Fragment:
    """The table rows of `rows` (a unit's children and its own accounts); `query` is the period's URL
    parameters, which the rows' expand buttons keep."""
    context = {
        "rows": rows,
        "query": query,
        "children_url": lambda pk: reverse("overview:children", args=[pk]),
        "unit_url": lambda pk: reverse("registry:unit", args=[pk]),
        "waited": waited,
        "share": share,
        "duration": duration,
        "sparkline": sparkline,
        "capfirst": capfirst,
    }
    return render_fragment(request, ROWS_TEMPLATE, context)
