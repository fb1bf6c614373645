"""The layout rules the code keeps (docs/adr/0006-layers.md); each fails when broken.

- the import-linter contracts in pyproject.toml (layers, no streamlit in core, no cycles);
- core/ holds packages only, besides __init__ and __main__;
- no module imports another package's private names;
- pages/ and ui/ change a workspace only through core.workspace: no assignment to a
  workspace's attributes and no call of its writing methods there.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Workspace methods that write; only core.workspace calls them.
WRITERS = {"save", "set_frame", "changed", "mark_step", "delete"}
#: Names pages and ui/ use for a workspace.
WORKSPACE_NAMES = {"ws", "_ws", "workspace", "fresh", "imported"}


def _modules(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def _package(path: Path) -> str:
    """The top-level package of a module: core.<domain>, ui or pages."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:2]) if parts[0] == "core" else parts[0]


def test_import_contracts_hold():
    # The same check as `lint-imports` (make lint), in its own process so that the
    # modules the tests imported do not matter.
    script = "import sys; from importlinter.cli import lint_imports; " \
             "sys.exit(lint_imports(no_cache=True, no_logo=True))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_core_holds_packages_only():
    loose = sorted(p.name for p in (ROOT / "core").glob("*.py")
                   if p.name not in ("__init__.py", "__main__.py"))
    assert loose == []
    packages = sorted(p.name for p in (ROOT / "core").iterdir()
                      if p.is_dir() and (p / "__init__.py").exists())
    assert {"common", "data", "features", "segment", "personas", "rules", "experiments",
            "model", "workspace", "cli"} <= set(packages)


def test_no_package_imports_another_packages_private_names():
    offences = []
    for path in _modules("core", "ui", "pages"):
        own = _package(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] in ("core", "ui"):
                target = ".".join(node.module.split(".")[:2]) \
                    if node.module.startswith("core.") else node.module.split(".")[0]
                for alias in node.names:
                    private = alias.name.startswith("_") or any(
                        part.startswith("_") and part != "__init__"
                        for part in node.module.split("."))
                    if private and target != own:
                        offences.append(f"{path.relative_to(ROOT)}: {node.module}.{alias.name}")
    assert offences == []


def test_pages_and_ui_change_a_workspace_only_through_core_workspace():
    offences = []
    for path in _modules("ui", "pages"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                base = target
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    base = base.value
                if base is not target and isinstance(base, ast.Name) and \
                        base.id in WORKSPACE_NAMES and isinstance(target, ast.Attribute):
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno} assigns "
                                    f"{ast.unparse(target)}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in WRITERS and isinstance(node.func.value, ast.Name) and \
                    node.func.value.id in WORKSPACE_NAMES:
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} calls "
                                f"{ast.unparse(node.func)}()")
    assert offences == []
