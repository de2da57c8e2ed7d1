"""A run's model spend (tokens, dollars, faults per role), as the state records it."""

from adrs.agents.interface import add_usage, describe_faults, describe_usage, total_dollars, total_tokens

__all__ = ["add_usage", "describe_faults", "describe_usage", "total_dollars", "total_tokens"]
