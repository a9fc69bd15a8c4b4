"""The two back ends, and the choice between them, made here once for the CLI and the API.

- **instances** (`circuitc.instances`): a network declaration, many instances of small circuits
  in one superposed network;
- **features** (`circuitc.features`): one circuit `over` a sparse feature set, compiled level by
  level with U-AND layers.
"""

from __future__ import annotations

from .errors import CircuitError, Diagnostic
from .features.network import FeatureNetwork
from .features.verify import verify_features
from .instances.compile import Compilation
from .instances.verify import verify as verify_instances
from .spec import BoolCircuit, Spec

__all__ = ["back_end", "verify"]


def back_end(spec: Spec, circuit: str | None = None) -> str:
    """"features" when `circuit` names a circuit over a feature set, or when no circuit is named
    and the source has no network declaration but a circuit over a feature set; else "instances".
    A named circuit that is not over a feature set is refused (networks are chosen by name)."""
    over = [c for c in spec.circuits if isinstance(c, BoolCircuit) and c.features is not None]
    if circuit is not None:
        if any(c.name == circuit for c in over):
            return "features"
        spec.circuit(circuit)                   # unknown names get the usual error
        raise CircuitError(Diagnostic(f"`{circuit}` is not a circuit over a feature set; --circuit picks a "
                                      f"feature circuit",
                                      hint="networks of circuit instances are chosen with --network"))
    return "features" if not spec.networks and over else "instances"


def verify(compiled: Compilation | FeatureNetwork, samples: int = 10_000, batch: int = 1024, seed: int = 0,
           mode: str = "random", **options) -> dict:
    """Check a compiled network of either back end against the reference semantics on rows that
    keep the sparsity promise (`mode`: "random", "adversarial" or "exhaustive"); the record's keys
    are the back end's (`instances.verify.verify`, `features.verify.verify_features`)."""
    if isinstance(compiled, FeatureNetwork):
        return verify_features(compiled, samples, batch, seed, mode, **options)
    return verify_instances(compiled, samples, batch, seed, mode, **options)
