"""The built-in problems, shipped as package data: one stand-alone folder per problem.

Nothing here is imported by a problem, and no problem imports adrs (docs/problem-contract.md).
"""
