"""The benchmark scripts name library functions, classes, methods and keyword arguments that
still exist (session 25: a renamed helper left bench/lbn_bench.py failing at import, so none
of its RESULTS.md figures could be regenerated). Checked statically: the scripts need peers
(torch, numba, SFI) that CI lacks. Names are followed from `import stochinfer ...`, `from
stochinfer... import`, the peers' `from stochinfer_peer import si` and local aliases
(`rt = si.resetting_theory`), through modules and one class level (`si.NEEP.load`)."""
import ast
import importlib
import inspect
import pathlib
import types

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(BENCH.rglob("*.py"))


def _module_or_none(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _chain(node) -> list:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return [node.id] + names[::-1] if isinstance(node, ast.Name) else []


class _Checker:
    def __init__(self, tree: ast.Module):
        self.tree, self.bound, self.missing = tree, {}, []

    def resolve(self, chain: list, line: int):
        """The object a dotted name reaches, or None where it leaves what can be checked
        (an instance, a call result); a missing attribute is recorded."""
        if not chain or chain[0] not in self.bound:
            return None
        obj = self.bound[chain[0]]
        for i, attr in enumerate(chain[1:], 1):
            if not isinstance(obj, (types.ModuleType, type)):
                return None  # past a function or a class's member: instance attributes are not checkable
            if not hasattr(obj, attr):
                self.missing.append(f"line {line}: {'.'.join(chain[:i + 1])}")
                return None
            obj = getattr(obj, attr)
        return obj

    def imports(self):
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "stochinfer":
                        name = a.asname or a.name.split(".")[0]
                        self.bound[name] = importlib.import_module(a.name if a.asname else "stochinfer")
            elif isinstance(node, ast.ImportFrom) and node.module:
                peer = node.module.split(".")[-1] == "stochinfer_peer"  # re-exports stochinfer as si
                if node.level == 0 and node.module.split(".")[0] == "stochinfer":
                    module = importlib.import_module(node.module)
                elif peer:
                    module = types.SimpleNamespace(si=importlib.import_module("stochinfer"))
                else:
                    continue
                for a in node.names:
                    if peer and a.name != "si":
                        continue  # the peer's own helpers
                    obj = getattr(module, a.name, None)
                    if obj is None and not peer:
                        obj = _module_or_none(f"{node.module}.{a.name}")
                    if obj is None:
                        self.missing.append(f"line {node.lineno}: from {node.module} import {a.name}")
                    else:
                        self.bound[a.asname or a.name] = obj

    def aliases(self):
        """name = si.something (a module or class reached by a dotted name), in source order."""
        for node in sorted((n for n in ast.walk(self.tree) if isinstance(n, ast.Assign)), key=lambda n: n.lineno):
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(
                    node.value, ast.Attribute):
                obj = self.resolve(_chain(node.value), node.lineno)
                if isinstance(obj, (types.ModuleType, type)):
                    self.bound[node.targets[0].id] = obj

    def uses(self):
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                self.resolve(_chain(node), node.lineno)
            elif isinstance(node, ast.Call) and node.keywords:
                chain = _chain(node.func) if isinstance(node.func, ast.Attribute) else (
                    [node.func.id] if isinstance(node.func, ast.Name) else [])
                fn = self.resolve(chain, node.lineno)
                if fn is None or not callable(fn):
                    continue
                # the models' metaclass __call__(*args, **kwargs) hides the constructor's own signature
                target = fn.__init__ if isinstance(fn, type) and type(fn).__call__ is not type.__call__ else fn
                try:
                    params = inspect.signature(target).parameters
                except (TypeError, ValueError):  # compiled functions without a signature
                    continue
                if any(p.kind is p.VAR_KEYWORD for p in params.values()):
                    continue
                for kw in node.keywords:
                    if kw.arg is not None and kw.arg not in params:
                        self.missing.append(f"line {node.lineno}: {'.'.join(chain)}({kw.arg}=...)")


def _problems(source: str, name: str = "<script>") -> list:
    c = _Checker(ast.parse(source, name))
    c.imports()
    c.aliases()
    c.uses()
    return sorted(set(c.missing))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(BENCH)))
def test_bench_script_names_existing_library_functions(script):
    problems = _problems(script.read_text(), str(script))
    assert not problems, f"{script.name} names what the library lacks: {problems}"


def test_the_check_finds_each_kind_of_stale_name():
    cases = {
        "from stochinfer.cli import _json_safe": "_json_safe",
        "import stochinfer as si\nsi.no_such_function()": "si.no_such_function",
        "import stochinfer as si\nsi.LangevinFit.lod('x')": "si.LangevinFit.lod",
        "import stochinfer as si\nsi.infer_langevin(None, drift_setings=1)": "drift_setings",
        "from .stochinfer_peer import si\nsi.no_such_function()": "si.no_such_function",
        "import stochinfer as si\nrt = si.resetting_theory\nrt.no_such()": "rt.no_such",
        "from stochinfer.langevin import TrainSettings\nTrainSettings(n_itr=3)": "n_itr",
        "import stochinfer as si\nsi.models.BrownianCarnot(tua=100.0)": "tua",
    }
    for source, name in cases.items():
        problems = _problems(source)
        assert any(name in p for p in problems), (source, problems)
    assert _problems("import stochinfer as si\nsi.NEEP.load\nsi.infer_langevin(None, dt=0.1)") == []
