"""The model brain: the four roles backed by any OpenAI-compatible chat model.

Import the parts from their modules (agents.model.team.model_team, ...); this package module stays
light so that offline runs never load the OpenAI client.
"""
