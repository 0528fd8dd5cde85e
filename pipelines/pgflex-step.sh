#!/usr/bin/env bash
# One pgflex command as a pipeline step: the logic behind the GitHub Action (action.yml) and the
# Azure Pipelines template (pipelines/azure-pipelines/pgflex-steps.yml).
#
# Reads (environment):
#   PGFLEX_STEP_COMMAND          plan | drift | apply | verify | validate | sessions | destroy
#   PGFLEX_STEP_ENV_FILE         the env.yaml (apply also takes a plan saved by `plan`)
#   PGFLEX_STEP_ARGUMENTS        extra arguments, split on whitespace (no quoting)
#   PGFLEX_STEP_FAIL_ON_CHANGES  true: exit code 2 (changes or drift present) fails the step
#   PGFLEX_STEP_INSTALL          what `pip install` gets when pgflex is not on PATH (a directory or a
#                                requirement spec); installed into a virtual environment
# Result files go to a new directory under the runner's temp directory. Writes the outputs exit-code,
# plan-json, junit and result-json (paths, empty when not produced) to $GITHUB_OUTPUT on GitHub, or as
# output variables exitCode, planJson, junit, resultJson on Azure Pipelines.
# Exit status: pgflex's own (1 error, 3 applied but TLS verification failed), except that 2 from plan or
# drift (changes or drift present) becomes 0 unless PGFLEX_STEP_FAIL_ON_CHANGES is true.
set -euo pipefail

command=${PGFLEX_STEP_COMMAND:?PGFLEX_STEP_COMMAND is required}
env_file=${PGFLEX_STEP_ENV_FILE:?PGFLEX_STEP_ENV_FILE is required}
fail_on_changes=${PGFLEX_STEP_FAIL_ON_CHANGES:-false}
temp_root=${RUNNER_TEMP:-${AGENT_TEMPDIRECTORY:-${TMPDIR:-/tmp}}}

error() {
  if [[ -n ${GITHUB_ACTIONS:-} ]]; then
    echo "::error title=pgflex ${command}::$1"
  elif [[ -n ${TF_BUILD:-} ]]; then
    echo "##vso[task.logissue type=error]pgflex ${command}: $1"
  else
    echo "pgflex ${command}: $1" >&2
  fi
}

# Each output under GitHub's name and Azure Pipelines' (whose variable names allow no hyphen).
set_output() {
  local github_name=$1 azure_name=$2 value=$3
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    echo "${github_name}=${value}" >>"$GITHUB_OUTPUT"
  fi
  if [[ -n ${TF_BUILD:-} ]]; then
    echo "##vso[task.setvariable variable=${azure_name};isOutput=true]${value}"
  fi
}

if [[ ${fail_on_changes,,} != true && ${fail_on_changes,,} != false ]]; then
  error "fail-on-changes must be true or false, not '${fail_on_changes}'"
  exit 1
fi

# Azure Pipelines' AzureCLI@2 with addSpnToEnvironment leaves a workload identity federation service
# connection's OIDC token in idToken; DefaultAzureCredential reads such a token from a file.
if [[ -n ${idToken:-} && -z ${AZURE_FEDERATED_TOKEN_FILE:-} ]]; then
  token_file=$(mktemp "${temp_root}/pgflex-oidc.XXXXXX") # mode 0600
  trap 'rm -f "$token_file"' EXIT
  printf '%s' "$idToken" >"$token_file"
  export AZURE_CLIENT_ID=${servicePrincipalId:?} AZURE_TENANT_ID=${tenantId:?} AZURE_FEDERATED_TOKEN_FILE=$token_file
fi

# Install only when needed: tests and self-hosted runners bring their own pgflex.
if ! command -v pgflex >/dev/null; then
  if [[ -z ${PGFLEX_STEP_INSTALL:-} ]]; then
    error "pgflex is not on PATH and PGFLEX_STEP_INSTALL names nothing to install"
    exit 1
  fi
  # A virtual environment: the runner's system Python refuses pip installs (PEP 668) on recent images.
  venv="${temp_root}/pgflex-venv"
  if [[ ! -x ${venv}/bin/pgflex ]]; then
    python3 -m venv "$venv"
    "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "$PGFLEX_STEP_INSTALL"
  fi
  PATH="${venv}/bin:${PATH}"
fi

output_dir=$(mktemp -d "${temp_root}/pgflex-${command}.XXXXXX")
plan_json="" junit="" result_json="${output_dir}/result.json"
case $command in
  validate) result_json="" ;; # no JSON: it prints one line per file
  plan) plan_json="${output_dir}/plan.json" ;;
  apply | verify) junit="${output_dir}/junit.xml" ;;
  drift | sessions | destroy) ;;
  *)
    error "unknown command '${command}': use plan, drift, apply, verify, validate, sessions or destroy"
    exit 1
    ;;
esac

arguments=("$command" "$env_file")
[[ -z $result_json ]] || arguments+=(--output json)
[[ -z $plan_json ]] || arguments+=(--out "$plan_json" --detailed-exitcode)
[[ -z $junit ]] || arguments+=(--junit "$junit")
# Pipelines cannot answer a prompt: apply and destroy run without asking.
if [[ $command == apply || $command == destroy ]]; then arguments+=(--auto-approve); fi
read -r -d '' -a extra <<<"${PGFLEX_STEP_ARGUMENTS:-}" || true # -d '': newlines separate arguments too
arguments+=("${extra[@]}")

echo "pgflex ${arguments[*]}" >&2
code=0
if [[ -n $result_json ]]; then
  pgflex "${arguments[@]}" >"$result_json" || code=$?
else
  pgflex "${arguments[@]}" || code=$?
fi

produced() { if [[ -s $1 ]]; then echo "$1"; fi; }
set_output exit-code exitCode "$code"
set_output plan-json planJson "$(produced "$plan_json")"
set_output junit junit "$(produced "$junit")"
set_output result-json resultJson "$(produced "$result_json")"

if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
  printf '\n%s\n' "pgflex ${command} exited ${code}; result files in ${output_dir}" >>"$GITHUB_STEP_SUMMARY"
fi

if [[ $code == 2 ]]; then
  # 2 is "changes or drift present" (plan --detailed-exitcode, drift); usage errors exit 1.
  if [[ ${fail_on_changes,,} == true ]]; then
    error "changes or drift present (exit code 2) and fail-on-changes is true"
    exit 2
  fi
  echo "pgflex ${command}: changes or drift present (exit code 2); the step passes (fail-on-changes is false)" >&2
  exit 0
fi
exit "$code"
