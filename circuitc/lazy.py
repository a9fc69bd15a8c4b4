"""Names of a package resolved on first use (PEP 562), so that importing the package stays light.

The back ends import torch, which takes seconds; the front end, `import circuitc`, and the
commands that only read sources (`circuitc check`, `eval`, `fmt`, `graph`) do not need it. A
package lists its heavy names once, as {name: (module, attribute)}, and resolves them here.
"""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_names(package: str, table: dict[str, tuple[str, str]], namespace: dict) -> tuple[Callable, Callable]:
    """The `__getattr__` and `__dir__` of `package` (whose globals are `namespace`) for `table`."""

    def __getattr__(name: str):
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = table[name]
        value = getattr(importlib.import_module(module), attribute)
        namespace[name] = value             # resolved once
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__


def resolve(path: str) -> object:
    """The object at "package.module.attribute"."""
    module, attribute = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), attribute)
