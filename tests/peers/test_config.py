"""What a peer's config.yaml carries over: the description, the limits, the cascade, the
budget and the model settings; what it names but adrs ignores; what it gets wrong."""

from __future__ import annotations

import pytest

from adrs.cli.options import ModelFlags, run_settings
from adrs.tools.peer_config import PeerConfigError, read_peer_config
from adrs.tools.problem import Problem
from tests.peers.helpers import fixture


def test_the_cascade_fixture_maps_onto_adrs(tmp_path):
    problem = Problem.load(fixture("openevolve_cascade", tmp_path))
    spec = problem.spec
    assert spec.limits.timeout_seconds == 30
    assert spec.evaluation.cascade is True and spec.evaluation.cascade_thresholds == (0.05,)
    assert spec.budget.iterations == 50
    assert "## From config.yaml (prompt.system_message)" in problem.description
    assert "You tune a latency model." in problem.description
    assert problem.model_defaults == {"name": "fixture-small", "base_url": "http://127.0.0.1:9/v1",
                                      "temperature": 0.4, "max_tokens": 2048}


def test_the_model_settings_carry_over_under_the_flags(tmp_path):
    defaults = Problem.load(fixture("openevolve_cascade", tmp_path)).model_defaults
    settings = run_settings("p", default_iterations=3, values={}, flags=ModelFlags(),
                            config=None, model_defaults=defaults)
    assert settings.brain == "model" and settings.model.model_for("planner") == "fixture-small"
    assert settings.model.base_url == "http://127.0.0.1:9/v1"
    assert settings.model.role("planner").temperature == 0.4
    mine = run_settings("p", default_iterations=3, values={}, config=None, model_defaults=defaults,
                        flags=ModelFlags(model="mine", base_url="http://127.0.0.1:8/v1"))
    assert mine.model.model_for("coder") == "mine" and mine.model.base_url == "http://127.0.0.1:8/v1"
    assert mine.model.role("coder").max_tokens == 2048  # what the flags do not say still carries over
    offline = run_settings("p", default_iterations=3, values={}, flags=ModelFlags(), config=None,
                           model_defaults={})
    assert offline.brain == "offline"


def test_problem_toml_wins_over_config_yaml(tmp_path):
    folder = fixture("adrs_style", tmp_path)
    (folder / "README.md").write_text("# Relays\n\nPick relays.\n")
    (folder / "problem.toml").write_text('name = "relays"\nevolve_file = "initial_program.py"\n'
                                         "[limits]\ntimeout_seconds = 7\n")
    problem = Problem.load(folder)
    assert problem.name == "relays" and problem.spec.limits.timeout_seconds == 7
    assert problem.spec.evaluation.cascade is False  # from config.yaml, which problem.toml left alone
    assert problem.description.startswith("# Relays") and "Lower the total cost" in problem.description


def test_ignored_keys_are_named_once_and_keys_are_never_read(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("llm:\n  api_key: sk-not-read\n  primary_model: m\n  retries: 2\n"
                    "database: {islands: 3}\n")
    config = read_peer_config(path)
    assert config.model_values == {"name": "m", "max_attempts": 3}
    assert config.ignored_line("config.yaml") == ("config.yaml: ignoring keys adrs has no "
                                                  "counterpart for: llm.api_key, database")
    path.write_text("")
    assert read_peer_config(path).ignored_line("config.yaml") is None


@pytest.mark.parametrize("text, message", [
    ("evaluator:\n  timeout: soon\n", "config.yaml: evaluator.timeout: Input should be a valid "
                                      "number, unable to parse string as a number (got 'soon')"),
    ("evaluator:\n  cascade_thresholds: 0.5\n", "evaluator.cascade_thresholds: Input should be a "
                                                "valid list"),
    ("- a\n- b\n", "config.yaml must be a mapping of keys, not list"),
    ("llm: [\n", "config.yaml is not valid YAML"),
    ("max_iterations: -1\n", "max_iterations: Input should be greater than 0"),
])
def test_a_config_with_a_wrong_value_is_one_line(text, message, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(PeerConfigError) as caught:
        read_peer_config(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
