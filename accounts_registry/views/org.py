"""Placeholder: implemented with its feature."""

from django.http import Http404


def tree(request, pk=None):  # noqa
    raise Http404


def unit_detail(request, pk=None):  # noqa
    raise Http404


def unit_children(request, pk=None):  # noqa
    raise Http404


def unit_edit(request, pk=None):  # noqa
    raise Http404


def member_detail(request, pk=None):  # noqa
    raise Http404


def governance(request, pk=None):  # noqa
    raise Http404

