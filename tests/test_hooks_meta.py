"""Meta-tests: every hook spec is documented, has a docstring, and is exercised by a test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_plugins import plugin_docs

REPO = Path(__file__).resolve().parents[1]


def hook_specs() -> dict[str, ast.FunctionDef]:
    """The functions in mingxiao/hookspecs.py decorated with ``@hookspec``."""
    tree = ast.parse((REPO / "mingxiao" / "hookspecs.py").read_text(encoding="utf-8"))
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "hookspec" for d in node.decorator_list)
    }


HOOKS = sorted(hook_specs())


def test_hookspecs_are_found():
    assert len(HOOKS) >= 7


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_docstring(hook):
    assert ast.get_docstring(hook_specs()[hook])


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_exercised_by_a_plugin_test(hook):
    text = (REPO / "tests" / "test_plugins.py").read_text(encoding="utf-8")
    assert f"def test_hook_{hook}" in text, f"tests/test_plugins.py has no test_hook_{hook}_… test"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_implemented_by_the_example_plugin(hook):
    from tests.plugins import example_plugin

    assert callable(getattr(example_plugin, hook, None))


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook):
    assert f"`{hook}" in plugin_docs(), f"the “Writing a plugin” section does not mention {hook}"
