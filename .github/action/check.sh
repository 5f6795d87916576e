#!/usr/bin/env bash
# The GitHub Action's step (action.yml at the repository's root): runs `shutdown-harness check`
# on the user's image with the action's inputs (INPUT_* variables), writes the JUnit, JSON, HTML
# and Markdown reports into REPORT_DIR, appends the Markdown to the job summary
# ($GITHUB_STEP_SUMMARY), sets the step's `passed` output, and exits with the check's own code
# (0 every requirement met, 1 one was not, 2 usage or environment error).
#
# Runs outside GitHub too: set INPUT_IMAGE, INPUT_PORT (and the other INPUT_* below), and point
# GITHUB_STEP_SUMMARY and GITHUB_OUTPUT at files of your own.
set -uo pipefail

bin="${SHUTDOWN_HARNESS_BIN:-shutdown-harness}"
dir="${REPORT_DIR:-shutdown-harness-report}"
: "${INPUT_IMAGE:?the action needs its image input}"
: "${INPUT_PORT:?the action needs its port input}"
mkdir -p "$dir"

args=(check --image "$INPUT_IMAGE" --port "$INPUT_PORT" --path "${INPUT_PATH:-/}")
[ -n "${INPUT_READY_PATH:-}" ] && args+=(--ready-path "$INPUT_READY_PATH")
[ -n "${INPUT_LOAD:-}" ] && args+=(--load "$INPUT_LOAD")
[ "${INPUT_ROLLOUT:-false}" = "true" ] && args+=(--rollout)
[ -n "${INPUT_MAX_LOST:-}" ] && args+=(--max-lost "$INPUT_MAX_LOST")
[ -n "${INPUT_MAX_CUT:-}" ] && args+=(--max-cut "$INPUT_MAX_CUT")
[ -n "${INPUT_MAX_P99:-}" ] && args+=(--max-p99 "$INPUT_MAX_P99")
# Further flags, split on spaces as a shell would (no quoting inside).
read -r -a extra <<<"${INPUT_ARGS:-}"
args+=("${extra[@]}")

# The timelines go to the job's log; the reports beside them, for the artifact.
"$bin" "${args[@]}" \
  --junit "$dir/junit.xml" --json-output "$dir/report.json" --html "$dir/report.html" \
  --markdown "$dir/summary.md"
code=$?

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  if [ -f "$dir/summary.md" ]; then
    cat "$dir/summary.md" >>"$GITHUB_STEP_SUMMARY"
    if [ -n "${GITHUB_RUN_ID:-}" ]; then
      echo "The reports (HTML timelines, JSON, JUnit) are in this run's artifact \`shutdown-harness-report\`: ${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/$GITHUB_RUN_ID" >>"$GITHUB_STEP_SUMMARY"
    fi
  else
    echo "## shutdown-harness: error (exit $code): no report was written; the job's log says why" >>"$GITHUB_STEP_SUMMARY"
  fi
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  if [ "$code" -eq 0 ]; then echo "passed=true" >>"$GITHUB_OUTPUT"; else echo "passed=false" >>"$GITHUB_OUTPUT"; fi
fi
exit "$code"
