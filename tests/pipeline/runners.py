"""Running the pipeline step the way GitHub Actions and Azure Pipelines do, without either.

GitHub: the composite action's step gets the environment that action.yml's ``env:`` mapping gives it
(its ``${{ }}`` expressions evaluated against the inputs, defaults from action.yml), GITHUB_ACTIONS,
GITHUB_ACTION_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and RUNNER_TEMP; its ``run:`` text runs as
``bash --noprofile --norc -eo pipefail FILE`` (GitHub's ``shell: bash``); the action's outputs are read
back through action.yml's ``outputs:`` expressions. Azure Pipelines: the template's ``env:`` mapping
evaluated against the parameters, TF_BUILD and AGENT_TEMPDIRECTORY, the script run by bash, output
variables read from the ``##vso[task.setvariable ...;isOutput=true]`` lines it prints.

The expression evaluators know only the forms these files use; anything else fails the test, so
that a new form is added here on purpose.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPOSITORY = Path(__file__).resolve().parents[2]
ACTION = REPOSITORY / "action.yml"
STEP_SCRIPT = REPOSITORY / "pipelines" / "pgflex-step.sh"
AZURE_TEMPLATE = REPOSITORY / "pipelines" / "azure-pipelines" / "pgflex-steps.yml"
VENV_BIN = Path(sys.executable).parent  # the repository's .venv/bin: pgflex is on PATH, so nothing is installed
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SET_VARIABLE = re.compile(r"^##vso\[task\.setvariable variable=(?P<name>[^;\]]+);isOutput=true\](?P<value>.*)$", re.M)
# Variables of the machine running the tests that would change what the step does.
FOREIGN = ("GITHUB_", "RUNNER_", "INPUT_", "PGFLEX_STEP_", "AGENT_", "AZURE_")


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text())


@dataclass(frozen=True)
class StepRun:
    exit_code: int  # the step's: what fails the job or not
    outputs: dict[str, str]
    stdout: str
    stderr: str
    summary: str = ""

    def describe(self) -> str:
        return f"exit {self.exit_code}\noutputs {self.outputs}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def clean_environment(extra: dict[str, str], work: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN) and k not in {"TF_BUILD", "CI"}}
    base["PATH"] = f"{VENV_BIN}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}"
    base["HOME"] = str(work)  # nothing of the user's (az, pip) configuration
    return {**base, **extra}


def _evaluate(text: str, resolve: Any) -> str:
    def one(match: re.Match[str]) -> str:
        # `a || b`: the first non-empty operand, as GitHub's || returns the first truthy one.
        for operand in match.group(1).split("||"):
            value = str(resolve(operand.strip()))
            if value:
                return value
        return ""

    return EXPRESSION.sub(one, text)


def run_action(work: Path, inputs: dict[str, str], env: dict[str, str] | None = None) -> StepRun:
    """The action's pgflex step, with ``inputs`` (action.yml's defaults for the rest) and ``env`` (the caller's)."""
    action = load_yaml(ACTION)
    declared = action["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    values = {name: inputs.get(name, str(spec.get("default", ""))) for name, spec in declared.items()}

    def resolve(operand: str) -> str:
        if operand.startswith("inputs."):
            return values[operand.removeprefix("inputs.")]
        if operand == "github.action_path":
            return str(REPOSITORY)
        raise AssertionError(f"action.yml uses an expression this runner does not know: {operand}")

    [step] = [s for s in action["runs"]["steps"] if s.get("id") == "pgflex"]
    assert step["shell"] == "bash"
    work.mkdir(parents=True, exist_ok=True)
    output_file, summary_file, runner_temp = work / "github-output", work / "step-summary", work / "runner-temp"
    output_file.touch()
    summary_file.touch()
    runner_temp.mkdir(exist_ok=True)
    script = work / "run-step.sh"
    script.write_text(_evaluate(step["run"], resolve))
    environment = clean_environment(
        {
            **(env or {}),
            **{name: _evaluate(str(value), resolve) for name, value in step["env"].items()},
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": str(REPOSITORY),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "RUNNER_TEMP": str(runner_temp),
        },
        work,
    )
    done = _run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], environment, work)
    step_outputs = _github_outputs(output_file.read_text())

    def output(operand: str) -> str:
        prefix = "steps.pgflex.outputs."
        assert operand.startswith(prefix), f"action.yml output from elsewhere than the pgflex step: {operand}"
        return step_outputs.get(operand.removeprefix(prefix), "")

    outputs = {name: _evaluate(str(spec["value"]), output) for name, spec in action["outputs"].items()}
    return StepRun(done.returncode, outputs, done.stdout, done.stderr, summary_file.read_text())


def _github_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT's two forms: ``name=value`` and ``name<<DELIMITER`` ... ``DELIMITER``."""
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            found[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            found[name] = value
    return found


def run_azure_template(work: Path, parameters: dict[str, Any], env: dict[str, str] | None = None) -> StepRun:
    """The template's pgflex step as AzureCLI@2 runs it (bash on scriptPath), with ``parameters``."""
    template = load_yaml(AZURE_TEMPLATE)
    declared = {p["name"]: p for p in template["parameters"]}
    unknown = set(parameters) - set(declared)
    assert not unknown, f"not parameters of the template: {unknown}"
    missing = {name for name, p in declared.items() if "default" not in p} - set(parameters)
    assert not missing, f"required parameters missing: {missing}"
    values = {name: parameters.get(name, p.get("default")) for name, p in declared.items()}

    def resolve(operand: str) -> Any:
        if operand.startswith("parameters."):
            return values[operand.removeprefix("parameters.")]
        coalesce = re.fullmatch(r"coalesce\((.*)\)", operand)
        if coalesce:
            candidates = (str(resolve(arg.strip())) for arg in coalesce.group(1).split(","))
            return next((c for c in candidates if c), "")
        raise AssertionError(f"the template uses an expression this runner does not know: {operand}")

    [step] = [s for s in template["steps"] if s.get("name") == "pgflex"]
    step_env: dict[str, str] = {}
    for name, value in step["env"].items():
        if name == "${{ insert }}":
            step_env.update(resolve(EXPRESSION.fullmatch(value).group(1)))  # type: ignore[union-attr]
        else:
            step_env[name] = _evaluate(str(value), resolve)
    script = Path(_evaluate(step["inputs"]["scriptPath"], resolve))
    work.mkdir(parents=True, exist_ok=True)
    agent_temp = work / "agent-temp"
    agent_temp.mkdir(exist_ok=True)
    environment = clean_environment(
        {**(env or {}), **step_env, "TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(agent_temp)}, work
    )
    done = _run(["bash", str(script)], environment, work)
    outputs = {m["name"]: m["value"] for m in SET_VARIABLE.finditer(done.stdout)}
    return StepRun(done.returncode, outputs, done.stdout, done.stderr)


def _run(command: list[str], environment: dict[str, str], work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=environment, cwd=work, capture_output=True, text=True, timeout=600, check=False)
