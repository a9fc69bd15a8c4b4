"""Back end 2: one circuit over a sparse feature set, compiled level by level into one network.

Imports run one way: uand_theory → uand, mobius, correct, levels, readoffs → network → verify,
artifact. The names below are resolved on first use (lazy.py), as in `circuitc.instances`.
"""

from typing import TYPE_CHECKING

from ..lazy import lazy_names

_NAMES = {
    "FeatureConfig": ("circuitc.features.network", "FeatureConfig"),
    "FeatureNetwork": ("circuitc.features.network", "FeatureNetwork"),
    "compile_features": ("circuitc.features.network", "compile_features"),
    "compile_source": ("circuitc.features.network", "compile_source"),
    "feature_circuit": ("circuitc.features.network", "feature_circuit"),
    "verify_features": ("circuitc.features.verify", "verify_features"),
    "uand_layer": ("circuitc.features.uand", "uand_layer"),
    "build_uand": ("circuitc.features.uand", "build_uand"),
}

if TYPE_CHECKING:
    from .network import FeatureConfig, FeatureNetwork, compile_features, compile_source, feature_circuit
    from .uand import build_uand, uand_layer
    from .verify import verify_features

__all__ = ["FeatureConfig", "FeatureNetwork", "compile_features", "compile_source", "feature_circuit",
           "verify_features", "uand_layer", "build_uand"]
__getattr__, __dir__ = lazy_names(__name__, _NAMES, globals())
