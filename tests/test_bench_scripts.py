"""The benchmark scripts name library functions that still exist (session 25: a renamed
helper left bench/lbn_bench.py failing at import, so none of its RESULTS.md figures could
be regenerated). Checked statically: the scripts need peers (torch, numba, SFI) CI lacks."""
import ast
import importlib
import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(BENCH.rglob("*.py"))


def _aliases(tree: ast.Module) -> dict:
    """Local name -> dotted stochinfer module it is bound to, and the names imported from them."""
    out, imported = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "stochinfer":
                    out[a.asname or a.name.split(".")[0]] = a.name if a.asname else "stochinfer"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "stochinfer":
            for a in node.names:
                imported.append((node.module, a.name, node.lineno))
                full = f"{node.module}.{a.name}"
                try:
                    importlib.import_module(full)
                    out[a.asname or a.name] = full
                except ImportError:
                    pass
    return out, imported


def _chain(node: ast.Attribute) -> list:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return [node.id] + names[::-1] if isinstance(node, ast.Name) else []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(BENCH)))
def test_bench_script_names_existing_library_functions(script):
    tree = ast.parse(script.read_text(), str(script))
    aliases, imported = _aliases(tree)
    missing = []
    for module, name, line in imported:
        if not hasattr(importlib.import_module(module), name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"line {line}: from {module} import {name}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
            continue
        chain = _chain(node)
        if not chain or chain[0] not in aliases:
            continue
        obj = importlib.import_module(aliases[chain[0]])
        for attr in chain[1:]:
            if not hasattr(obj, attr):
                missing.append(f"line {node.lineno}: {'.'.join(chain)}")
                break
            obj = getattr(obj, attr)
            if not isinstance(obj, type(importlib)):  # past a module: instance attributes are not checkable
                break
    assert not missing, f"{script.name} names what the library lacks: {sorted(set(missing))}"
