"""Back end 1: many instances of small circuits compiled into one superposed network.

Imports run one way: config → plan → lower, embed → error_model, guarantee, verdicts →
constructions → planner → budget → compile → verify, artifact. The names below are resolved on
first use (lazy.py), so that importing a light module of this package does not import torch.
`budget` and `verify` are the modules of those names (`budget.budget`, `verify.verify`); the
package-level functions are `circuitc.budget` and `circuitc.verify`.
"""

from typing import TYPE_CHECKING

from ..lazy import lazy_names

_NAMES = {
    "Config": ("circuitc.instances.config", "Config"),
    "Plan": ("circuitc.instances.plan", "Plan"),
    "Compilation": ("circuitc.instances.compile", "Compilation"),
    "CompiledNetwork": ("circuitc.instances.assemble", "CompiledNetwork"),
    "LoadedNetwork": ("circuitc.instances.artifact", "LoadedNetwork"),
    "Guarantee": ("circuitc.instances.guarantee", "Guarantee"),
    "Budget": ("circuitc.instances.verdicts", "Budget"),
    "VERDICTS": ("circuitc.instances.verdicts", "VERDICTS"),
    "Construction": ("circuitc.instances.constructions", "Construction"),
    "REGISTRY": ("circuitc.instances.constructions", "REGISTRY"),
    "plan_network": ("circuitc.instances.planner", "plan_network"),
    "compile_network": ("circuitc.instances.compile", "compile_network"),
    "budget_of_plan": ("circuitc.instances.budget", "budget_of_plan"),
}

if TYPE_CHECKING:
    from .artifact import LoadedNetwork
    from .assemble import CompiledNetwork
    from .budget import budget_of_plan
    from .compile import Compilation, compile_network
    from .config import Config
    from .constructions import REGISTRY, Construction
    from .guarantee import Guarantee
    from .plan import Plan
    from .planner import plan_network
    from .verdicts import VERDICTS, Budget

__all__ = ["Config", "Plan", "Compilation", "CompiledNetwork", "LoadedNetwork", "Guarantee", "Budget", "VERDICTS",
           "Construction", "REGISTRY", "plan_network", "compile_network", "budget_of_plan"]
__getattr__, __dir__ = lazy_names(__name__, _NAMES, globals())
