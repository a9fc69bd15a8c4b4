"""Planning a network declaration: check every knob (all problems at once), choose the
construction (a pure function of the config and the circuits), and let it plan."""

from __future__ import annotations

from dataclasses import replace

from ..errors import CircuitError, Diagnostic
from ..spec import Spec
from .config import Config
from .constructions import CONSTRUCTIONS, Choice, choose, construction, problems
from .lower.lookup import check_lookup
from .plan import Plan


def check_config(config: Config, T: int, network: str) -> list[Diagnostic]:
    """The problems of `config` that come before any construction is chosen."""
    out = []
    if not 1 <= config.z <= T:
        out.append(Diagnostic(f"the sparsity promise z = {config.z} must lie between 1 and the "
                              f"{T} instances of network `{network}`",
                              hint=f"at most {T} instances can be active at once"))
    if config.construction not in CONSTRUCTIONS:
        out.append(Diagnostic(f"unknown construction {config.construction!r}", expected=", ".join(CONSTRUCTIONS)))
    bound = config.input_bound
    if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))
                              or not (0 < bound < float("inf"))):
        out.append(Diagnostic(f"the input bound must be a finite number above 0, got {bound!r}",
                              hint="every real input of an MLP circuit has magnitude at most this"))
    return out


def plan_network(spec: Spec, network: str | None = None, **overrides) -> Plan:
    """Lower, choose S, allocate and assign supports — no weights (see `compile.compile_network`).
    `overrides` are `Config` fields; the network declaration gives the rest."""
    net = spec.network(network)
    config = Config.for_network(net, **overrides)
    circuits = tuple(spec.circuit(g.circuit) for g in net.groups)
    counts = tuple(g.count for g in net.groups)
    found = check_config(config, sum(counts), net.name)
    if found:
        raise CircuitError(found)
    choice = choose(config, circuits, counts)
    found = problems(config, choice.name)
    if found:
        raise CircuitError(found)
    try:
        plan = construction(choice.name).plan(net.name, replace(config, construction=choice.name), circuits, counts)
    except CircuitError as refused:
        if not (config.construction == "auto" and choice.name == "routed" and len(circuits) > 1
                and check_lookup(circuits) is None):
            raise
        # Different boolean circuits the routed construction cannot give a range each: the lookup
        # construction shares one range among them, exactly as well (docs/lowering.md). Said aloud.
        try:
            plan = construction("lookup").plan(net.name, replace(config, construction="lookup"), circuits, counts)
        except CircuitError as also:
            raise CircuitError([*refused.diagnostics, *also.diagnostics]) from None
        choice = Choice("lookup", refused.diagnostics[0].message, True)
    plan.check()                            # what every construction promises its plan holds
    return replace(plan, fallback=choice.why if choice.fallback else "")


def fallback_warning(plan: Plan) -> Diagnostic | None:
    """The warning that "auto" fell back from its first choice of construction, or None."""
    if not plan.fallback:
        return None
    name = plan.config.construction
    return Diagnostic(f"construction auto fell back to the {name} construction: {plan.fallback}",
                      hint=f"compile with `--construction {name}` to ask for it", severity="warning")
