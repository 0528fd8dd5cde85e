"""The pipeline files are checked by the linters of their platforms, and against each other.

action.yml and the example workflow: check-jsonschema with SchemaStore's schemas; the example workflow also with
actionlint, against this action.yml (its inputs) and with shellcheck on its ``run:`` scripts. The Azure Pipelines
template and example: check-jsonschema with Microsoft's published pipeline schema (check-jsonschema's Azure
Pipelines transform unnests template expressions; the schema types every scalar as a string). The step script:
shellcheck. Each schema check has a negative control, so that a schema accepting anything cannot pass unseen.
Then the wiring no linter sees: inputs, parameters, variables and outputs agree between the files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .runners import ACTION, AZURE_TEMPLATE, REPOSITORY, STEP_SCRIPT, VENV_BIN, load_yaml

PIPELINES = REPOSITORY / "pipelines"
EXAMPLE_WORKFLOW = PIPELINES / "examples" / "github-workflow.yml"
EXAMPLE_AZURE = PIPELINES / "examples" / "azure-pipelines.yml"
ACTION_REFERENCE = re.compile(r"your-org/pgflex@[\w.]+")  # how the example names this action
AZURE_SCHEMA = ["vendor.azure-pipelines", "--data-transform", "azure-pipelines", "--regex-variant", "nonunicode"]
SET_OUTPUT = re.compile(r"^set_output (\S+) (\S+) ", re.M)


def _tool(name: str) -> str:
    path = VENV_BIN / name
    assert path.exists(), f"{name} is missing: it comes with the dev extra (scripts/dev-setup)"
    return str(path)


def _run(*command: str, cwd: Path = REPOSITORY) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(cwd)}  # actionlint finds shellcheck on PATH
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def _check_jsonschema(schema: list[str], *files: Path) -> subprocess.CompletedProcess[str]:
    return _run(_tool("check-jsonschema"), "--builtin-schema", *schema, *map(str, files))


# --- linters -----------------------------------------------------------------------------------------------------


def test_action_yml_matches_the_github_actions_schema(tmp_path: Path) -> None:
    done = _check_jsonschema(["vendor.github-actions"], ACTION)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "action.yml"
    broken.write_text(ACTION.read_text().replace("using: composite", "using: composit"))
    assert _check_jsonschema(["vendor.github-actions"], broken).returncode == 1


def test_example_workflow_matches_the_github_workflows_schema(tmp_path: Path) -> None:
    done = _check_jsonschema(["vendor.github-workflows"], EXAMPLE_WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "workflow.yml"
    broken.write_text(EXAMPLE_WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    assert _check_jsonschema(["vendor.github-workflows"], broken).returncode == 1


def test_azure_pipelines_template_and_example_match_the_pipeline_schema(tmp_path: Path) -> None:
    done = _check_jsonschema(AZURE_SCHEMA, AZURE_TEMPLATE, EXAMPLE_AZURE)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "pgflex-steps.yml"
    broken.write_text(AZURE_TEMPLATE.read_text().replace("  - task: AzureCLI@2", "  - tsak: AzureCLI@2"))
    assert _check_jsonschema(AZURE_SCHEMA, broken).returncode == 1


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = sorted(PIPELINES.rglob("*.sh"))
    assert STEP_SCRIPT in scripts
    done = _run(_tool("shellcheck"), *map(str, scripts))
    assert done.returncode == 0, done.stdout + done.stderr


def _workflow_repository(root: Path, workflow: str) -> Path:
    """A repository holding this action at its root and ``workflow``, which uses it as ``./``."""
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".git").mkdir()  # how actionlint finds the repository's root, where ./ points
    shutil.copy(ACTION, root / "action.yml")
    (root / ".github" / "workflows" / "database.yml").write_text(ACTION_REFERENCE.sub("./", workflow))
    return root


def test_example_workflow_passes_actionlint_against_this_action(tmp_path: Path) -> None:
    text = EXAMPLE_WORKFLOW.read_text()
    assert len(ACTION_REFERENCE.findall(text)) >= 3
    done = _run(_tool("actionlint"), cwd=_workflow_repository(tmp_path / "good", text))
    assert done.returncode == 0, done.stdout + done.stderr
    # The control: actionlint did read action.yml, so a mistyped input is reported.
    mistyped = _run(
        _tool("actionlint"), cwd=_workflow_repository(tmp_path / "bad", text.replace("env-file:", "envfile:"))
    )
    assert mistyped.returncode == 1 and 'input "envfile" is not defined' in mistyped.stdout, mistyped.stdout


# --- wiring ------------------------------------------------------------------------------------------------------


def _script_outputs() -> dict[str, str]:
    """GitHub output name -> Azure Pipelines output variable name, as the step script sets them."""
    return dict(SET_OUTPUT.findall(STEP_SCRIPT.read_text()))


def _script_variables() -> set[str]:
    return set(re.findall(r"PGFLEX_STEP_[A-Z_]+", STEP_SCRIPT.read_text()))


def test_action_inputs_and_outputs_are_wired_to_the_script() -> None:
    action = load_yaml(ACTION)
    text = ACTION.read_text()
    used = set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text))
    assert used == set(action["inputs"]), "every input used in action.yml is declared, and every declared one used"
    assert set(action["outputs"]) == set(_script_outputs())
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.pgflex.outputs.{name} }}}}"
    [step] = [s for s in action["runs"]["steps"] if s.get("id") == "pgflex"]
    assert set(step["env"]) == _script_variables()
    assert "${{" not in step["run"], "inputs reach the script through env, never spliced into its text"
    assert step["run"] == 'bash "$GITHUB_ACTION_PATH/pipelines/pgflex-step.sh"'


def test_azure_template_parameters_and_variables_are_wired_to_the_script() -> None:
    template = load_yaml(AZURE_TEMPLATE)
    text = AZURE_TEMPLATE.read_text()
    declared = {p["name"] for p in template["parameters"]}
    assert set(re.findall(r"\bparameters\.(\w+)", text)) == declared
    [step, publish] = template["steps"]
    assert (step["task"], step["name"]) == ("AzureCLI@2", "pgflex")
    assert step["inputs"]["addSpnToEnvironment"] is True  # the OIDC token (idToken) the script hands on
    assert step["inputs"]["scriptPath"] == "${{ parameters.pgflexDirectory }}/pipelines/pgflex-step.sh"
    assert set(step["env"]) - {"${{ insert }}"} == _script_variables()
    referenced = set(re.findall(r"\bpgflex\.(\w+)", text)) - {"sh"}
    assert referenced and referenced <= set(_script_outputs().values())
    assert publish["task"] == "PublishTestResults@2"


def test_example_azure_pipeline_passes_only_declared_parameters() -> None:
    declared = {p["name"]: p for p in load_yaml(AZURE_TEMPLATE)["parameters"]}
    required = {name for name, p in declared.items() if "default" not in p}
    found = re.findall(r"template: (\S+)@pgflex\n(\s+)parameters:\n((?:\2 {2}.*\n)+)", EXAMPLE_AZURE.read_text())
    assert len(found) == 3
    for path, indent, block in found:
        assert REPOSITORY / path == AZURE_TEMPLATE
        given = set(re.findall(rf"^{indent}  (\w+):", block, re.M))
        assert required <= given <= set(declared), (given, set(declared))


@pytest.mark.parametrize("path", [ACTION, AZURE_TEMPLATE, STEP_SCRIPT, EXAMPLE_WORKFLOW, EXAMPLE_AZURE])
def test_pipeline_files_have_no_line_over_120_characters(path: Path) -> None:
    long = [n for n, line in enumerate(path.read_text().splitlines(), 1) if len(line) > 120]
    assert not long, f"{path.name}: lines {long}"


def test_readme_documents_every_input_output_and_parameter() -> None:
    readme = (REPOSITORY / "README.md").read_text()
    start = readme.index("## In a pipeline")
    section = readme[start : readme.index("\n## ", start + 1)]
    action = load_yaml(ACTION)
    names = [*action["inputs"], *action["outputs"], *(p["name"] for p in load_yaml(AZURE_TEMPLATE)["parameters"])]
    names += [f"pgflex.{variable}" for variable in _script_outputs().values()]
    missing = [name for name in names if f"`{name}`" not in section]
    assert not missing, f"README.md's 'In a pipeline' does not name {missing}"
    for variable in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "id-token: write"):
        assert variable in section
