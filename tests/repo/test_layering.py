"""The package layering: dependencies point one way, ``hw_targets`` -> ``compile`` -> ``neurokit``.

* ``import neurokit`` loads neither ``compile`` nor ``hw_targets``;
* no module of ``neurokit`` imports them at module level; inside functions only the lazy public entry points of
  ``neurokit/__init__.py`` (``nk.compile``, ``nk.energy``, ``nk.from_nir``) and the command-line app
  (``neurokit/cli/``, which sits on top of all three packages) do;
* ``compile`` never imports ``hw_targets``;
* no module imports a ``_private`` name from another (sub)package.
"""
import ast
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.helpers.paths import REPO_ROOT

PACKAGES = ("neurokit", "compile", "hw_targets")


@dataclass(frozen=True)
class Import:
    module: str         # the importing module, e.g. "neurokit.layers.quant"
    target: str         # the imported module, absolute
    names: tuple        # the imported names (from-imports), else ()
    in_function: bool   # inside a def (runs on call), not at import time
    line: int


def _module_name(path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend(Import(module, a.name, (), in_function, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[:len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module
                found.append(Import(module, target, tuple(a.name for a in child.names), in_function, child.lineno))
            visit(child, inside)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def _all_imports():
    return [imp for pkg in PACKAGES for path in sorted((REPO_ROOT / pkg).rglob("*.py")) for imp in _imports(path)]


def _top(name: str) -> str:
    return name.split(".")[0]


def test_import_neurokit_loads_neither_compile_nor_hw_targets():
    code = "import sys, neurokit; print(sorted({m.split('.')[0] for m in sys.modules} & {'compile', 'hw_targets'}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_neurokit_imports_compile_and_hw_targets_only_lazily_from_its_entry_points():
    bad = [imp for imp in _all_imports() if _top(imp.module) == "neurokit" and _top(imp.target) != "neurokit"
           and _top(imp.target) in PACKAGES
           and (not imp.in_function or not (imp.module == "neurokit" or imp.module.startswith("neurokit.cli")))]
    assert bad == [], "\n".join(f"{i.module}:{i.line} imports {i.target}" for i in bad)


def test_compile_never_imports_hw_targets():
    bad = [imp for imp in _all_imports() if _top(imp.module) == "compile" and _top(imp.target) == "hw_targets"]
    assert bad == [], "\n".join(f"{i.module}:{i.line} imports {i.target}" for i in bad)


def test_no_private_name_imported_from_another_package():
    def subpackage(name):
        return tuple(name.split(".")[:2])

    bad = [(imp, n) for imp in _all_imports() for n in imp.names
           if n.startswith("_") and not n.startswith("__") and _top(imp.target) in PACKAGES
           and subpackage(imp.target) != subpackage(imp.module)]
    assert bad == [], "\n".join(f"{i.module}:{i.line} imports {n} from {i.target}" for i, n in bad)


@pytest.mark.parametrize("source,expected", [
    ("from hw_targets.energy import energy\n", ["hw_targets.energy"]),
    ("def f():\n    from compile import ir\n", []),
    ("try:\n    import compile.ir\nexcept ImportError:\n    pass\n", ["compile.ir"]),
])
def test_the_checker_sees_module_level_imports_in_any_block(tmp_path, monkeypatch, source, expected):
    """The layering check itself: imports inside if/try blocks run at import time and count; inside a def not."""
    pkg = tmp_path / "neurokit"
    pkg.mkdir()
    (pkg / "probe.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", tmp_path)
    assert [i.target for i in _imports(pkg / "probe.py") if not i.in_function] == expected



def _imports_another_test_module(imp: Import) -> bool:
    """``imp`` (in a test file) reaches into a test module: ``test_*`` / ``conftest`` or ``tests.*`` outside helpers."""
    for name in [imp.target] + [f"{imp.target}.{n}" for n in imp.names]:
        last = name.split(".")[-1]
        if last.startswith("test_") or last == "conftest" or (name.startswith("tests.")
                                                                and not name.startswith("tests.helpers")):
            return True
    return False


def test_test_files_share_helpers_only_through_tests_helpers():
    """A test module imports from ``tests.helpers`` (or gets conftest fixtures), never from another test module."""
    bad = [imp for path in sorted((REPO_ROOT / "tests").rglob("*.py")) for imp in _imports(path)
           if _imports_another_test_module(imp)]
    assert bad == [], "\n".join(f"{i.module}:{i.line} imports {i.target} {i.names}" for i in bad)


@pytest.mark.parametrize("target,names,expected", [
    ("test_onnx_int", ("float_ops",), True), ("tests.hw_targets.onnx.test_onnx_int", ("float_ops",), True),
    ("tests.helpers.onnx_checks", ("float_ops",), False), ("tests.helpers", ("ddp_job",), False),
    ("torch.testing", ("assert_close",), False)])
def test_the_test_import_check(target, names, expected):
    assert _imports_another_test_module(Import("tests.x.test_y", target, names, False, 1)) is expected


def test_every_test_folder_is_a_package():
    """``tests/`` is a package tree, so a test module is imported as ``tests.<path>`` (two files may share a name) and
    no folder such as ``tests/neurokit`` can shadow the real package of the same name."""
    missing = [str(d.relative_to(REPO_ROOT)) for d in [REPO_ROOT / "tests", *(REPO_ROOT / "tests").rglob("*")]
               if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists()]
    assert missing == []
