"""Placeholder: implemented with its feature."""

from django.http import Http404


def import_upload(request, pk=None):  # noqa
    raise Http404


def export_csv(request, pk=None):  # noqa
    raise Http404

