"""Import a script of the repository (``benchmarks/``, ``scripts/``) as a module, for tests of its pieces."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_script(path: str) -> ModuleType:
    """The module of ``ROOT / path`` (e.g. ``"benchmarks/bench_lunar.py"``), loaded once per test session."""
    name = Path(path).stem
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # a dataclass in the script looks its module up there
        spec.loader.exec_module(module)
    return sys.modules[name]
