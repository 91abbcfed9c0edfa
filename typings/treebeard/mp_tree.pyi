# Minimal stubs for the parts of django-treebeard 7 that Chorus uses (treebeard ships no types).
from typing import Any, ClassVar, Generic, TypeVar

from django.db import models

_N = TypeVar("_N", bound=MP_Node)

class MP_NodeQuerySet(models.QuerySet[_N]): ...

class MP_NodeManager(models.Manager[_N], Generic[_N]):
    def add_root(self, create_kwargs: dict[str, Any] | None = None, *, instance: _N | None = None) -> _N: ...
    def add_child(
        self, target: _N, create_kwargs: dict[str, Any] | None = None, *, instance: _N | None = None
    ) -> _N: ...
    def get_root_nodes(self) -> MP_NodeQuerySet[_N]: ...
    def get_children(self, node: _N) -> MP_NodeQuerySet[_N]: ...
    def get_parent(self, node: _N, update: bool = False) -> _N | None: ...
    def get_ancestors(self, node: _N) -> MP_NodeQuerySet[_N]: ...
    def get_descendants(
        self, node: _N, include_self: bool = False, max_depth: int | None = None
    ) -> MP_NodeQuerySet[_N]: ...
    def move(self, node: _N, target: _N, pos: str | None = None) -> None: ...

class MP_Node(models.Model):
    steplen: ClassVar[int]
    alphabet: ClassVar[str]
    node_order_by: ClassVar[list[str]]
    path: str
    depth: int
    numchild: int
