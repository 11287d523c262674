"""The project's layout rules, read from the source with ast: the top-level modules import each
other only downward (no cycle, no import inside a function to dodge one), no command-line script
imports another script, the app imports no torchvision, and no JavaScript or CSS hides in a
Python string. Run: pytest tests/test_layout.py"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = {p.stem: p for p in sorted(ROOT.glob("*.py"))}
# The imports kept inside a function on purpose: torchvision (about 1 s, and only loading MNIST
# needs it), so that the app, which never loads a data set, starts without it.
LAZY_OK = {("data", "torchvision")}


def imports(path, top_level_only=False):
    """-> {(imported top-level name, inside a function?)} of one file."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            nested = node.col_offset > 0
            found |= {(n.split(".")[0], nested) for n in names}
    return found


def is_script(path):
    return 'if __name__ == "__main__":' in path.read_text()


GRAPH = {name: {m for m, _ in imports(p) if m in MODULES and m != name} for name, p in MODULES.items()}


def test_the_imports_between_top_level_modules_have_no_cycle():
    order, state = [], {}

    def visit(name, stack):
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", f"import cycle: {' -> '.join(stack + [name])}"
        state[name] = "open"
        for dep in sorted(GRAPH[name]):
            visit(dep, stack + [name])
        state[name] = "done"
        order.append(name)

    for name in MODULES:
        visit(name, [])
    assert order.index("neural_network") < order.index("trainer") < len(order)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_inside_a_function_and_no_script_imports_a_script(name):
    nested = {m for m, inside in imports(MODULES[name]) if inside and (name, m) not in LAZY_OK}
    assert not nested, f"{name}.py imports {sorted(nested)} inside a function"
    scripts = {m for m in GRAPH[name] if is_script(MODULES[m])}
    assert not scripts, f"{name}.py imports the scripts {sorted(scripts)}"


def test_the_app_does_not_import_torchvision():
    seen, todo = set(), ["demo"]
    while todo:
        name = todo.pop()
        seen.add(name)
        assert ("torchvision", False) not in imports(MODULES[name]), f"{name}.py imports torchvision"
        todo += [m for m in GRAPH[name] if m not in seen and m != "data"]
    # data.py imports torchvision only inside load(), which the app never calls


JS_OR_CSS = re.compile(r"=>|document\.|querySelector|addEventListener|\{\s*[a-z-]+\s*:\s*[^;{}]+;")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_javascript_or_css_inside_a_python_string(name):
    tree = ast.parse(MODULES[name].read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            assert not JS_OR_CSS.search(node.value), f"{name}.py line {node.lineno}: {node.value[:80]!r}"


def test_every_file_opens_with_a_docstring_saying_what_it_is():
    files = [*MODULES.values(), *ROOT.glob("bench/*.py"), *ROOT.glob("tests/*.py")]
    for path in files:
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and len(doc) > 40, f"{path.relative_to(ROOT)} has no docstring"
