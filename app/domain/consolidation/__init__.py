"""Consolidation of a pool's LCL bookings into containers at its cut-off (pure, no I/O).

Build a ``PoolCargo`` (container, live bookings, container budget), call ``plan_consolidation``
for a ``ConsolidationPlan``, and ``check_plan`` to list any broken rule of invariant 5.
"""

from app.domain.consolidation.cargo import ContainerSpec, DangerousGoods, PoolBooking, PoolCargo
from app.domain.consolidation.checks import PlanViolation, ViolationKind, check_plan
from app.domain.consolidation.plan import ConsolidationPlan, PlannedContainer, RolledBooking, RollReason
from app.domain.consolidation.planner import plan_consolidation

__all__ = [
    "ConsolidationPlan",
    "ContainerSpec",
    "DangerousGoods",
    "PlanViolation",
    "PlannedContainer",
    "PoolBooking",
    "PoolCargo",
    "RollReason",
    "RolledBooking",
    "ViolationKind",
    "check_plan",
    "plan_consolidation",
]
