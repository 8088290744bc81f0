"""The rule kinds of the cost engine, each a small named piece, and the assembler that binds
the pieces a plan version needs once, when the rule index is built (docs/architecture.md,
"How to add a rule kind"; the order they run in is docs/cost-rules.md's)."""

from service.domain.pieces.assemble import CompiledPlan, compile_plan

__all__ = ["CompiledPlan", "compile_plan"]
