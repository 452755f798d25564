"""The shipped type stubs match the native module."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import net
from net import _net

STUB = Path(net.__file__).with_name("_net.pyi")


def public(names: list[str]) -> set[str]:
    return {n for n in names if not n.startswith("_")}


def test_stub_names_match_the_module() -> None:
    tree = ast.parse(STUB.read_text())
    declared: dict[str, set[str]] = {}
    top: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            top.add(node.name)
            # Methods (properties are attributes, not callables, on both sides).
            declared[node.name] = public(
                [
                    n.name
                    for n in node.body
                    if isinstance(n, ast.FunctionDef)
                    and not any(isinstance(d, ast.Name) and d.id == "property" for d in n.decorator_list)
                ]
            )
        elif isinstance(node, ast.FunctionDef):
            top.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            top.add(node.target.id)
    assert public(top) == public(dir(_net))
    for cls, methods in declared.items():
        native = getattr(_net, cls)
        actual = public([n for n, v in inspect.getmembers(native) if callable(v)])
        if cls == "NetError":
            continue
        assert methods == actual, cls


def test_every_engine_kind_has_an_exception_class() -> None:
    kinds = _net.error_kinds()
    assert len(kinds) == len(net.ERRORS_BY_KIND)
    for kind, code in kinds:
        cls = net.ERRORS_BY_KIND[kind]
        assert issubclass(cls, net.NetError) and cls.kind == kind and cls.code == code
