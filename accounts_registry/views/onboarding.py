"""Placeholder: implemented with its feature."""

from django.http import Http404


def onboard(request, pk=None):  # noqa
    raise Http404

