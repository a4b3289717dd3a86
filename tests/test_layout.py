"""The package's imports run one way: no module imports, even inside a function, a module
that imports it back, except the views a finished result opens lazily (its report page)."""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "pipeline" / "evalbeam"

# A result and a history show themselves as the report page (``_repr_html_``, ``report()``),
# and the page reads results and histories: these arrows point back on purpose, so they are
# imported where they are used.
VIEW_ARROWS = {("evalbeam.io.result", "evalbeam.report"),
               ("evalbeam.io.result", "evalbeam.report.notebook"),
               ("evalbeam.over_time", "evalbeam.report"),
               ("evalbeam.over_time", "evalbeam.report.notebook")}


def _modules() -> dict:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("evalbeam",) + path.relative_to(PACKAGE).with_suffix("").parts
        if "proto" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(), str(path))
    return out


def _imports(tree, names) -> set:
    """(imported module, at module level) of every evalbeam import in ``tree``."""
    found = set()
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evalbeam"):
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names
                       else node.module for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("evalbeam")]
        else:
            continue
        found.update((t, id(node) in top) for t in targets if t in names)
    return found


def _cycle(graph: dict):
    state, stack = {}, []

    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == "open":
                return stack[stack.index(v):] + [v]
            if v not in state and (found := visit(v)):
                return found
        stack.pop()
        state[u] = "done"
        return None

    for u in sorted(graph):
        if u not in state and (found := visit(u)):
            return found
    return None


def test_no_import_cycles_hidden_or_not():
    modules = _modules()
    graph = {}
    for name, tree in modules.items():
        # a package's own __init__ importing its submodules is not an arrow back
        graph[name] = {t for t, _ in _imports(tree, modules)
                       if t != name and not (t.startswith(name + ".") and name.count(".") < 2
                                             and _is_package(name))
                       and (name, t) not in VIEW_ARROWS}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def _is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()


def test_the_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
