#!/usr/bin/env bash
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/register-task.sh [--dry-run] [--from-template] <image-tag>

Registers a new revision of task definition family $TASK_FAMILY whose '$DIXIE_CONTAINER' container
runs <image-tag>. By default the current revision is copied (describe-task-definition), read-only
fields removed and only the image tag changed; --from-template starts from
deploy/ecs/task-definition.json instead and fills its \${NAME} placeholders from the environment.
Prints the new revision's ARN.

  --dry-run         print the commands instead of running them
  --from-template   register deploy/ecs/task-definition.json with the image tag filled in
  --help            show this help

Environment: TASK_FAMILY ($TASK_FAMILY), DIXIE_CONTAINER ($DIXIE_CONTAINER), AWS_REGION ($AWS_REGION);
with --from-template also AWS_ACCOUNT_ID ($AWS_ACCOUNT_ID), ECR_REGISTRY ($ECR_REGISTRY),
ECR_REPOSITORY ($ECR_REPOSITORY), LOG_GROUP ($LOG_GROUP), and EFS_FILE_SYSTEM_ID and
EFS_ACCESS_POINT_ID (no default: the allowlist volume's ids, see docs/runbook.md).
USAGE
}

tag=''
from_template=0
while (($#)); do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --from-template) from_template=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option '$1'" ;;
    *)
      [[ -z $tag ]] || usage_error "unexpected argument '$1'"
      tag=$1
      ;;
  esac
  shift
done
[[ -n $tag ]] || usage_error "missing <image-tag> (the tag printed by deploy/build-push.sh)"
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || usage_error "invalid image tag '$tag'"

require_tools jq
require_run_tools aws

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
current="$work/current.json"
next="$work/task-definition.json"

jq_args=(--arg container "$DIXIE_CONTAINER" --arg tag "$tag")
if ((from_template)); then
  current="$DEPLOY_DIR/ecs/task-definition.json"
  # Its ${NAME} placeholders, filled with the deploy/lib.sh defaults or their overrides.
  for name in AWS_ACCOUNT_ID AWS_REGION ECR_REGISTRY ECR_REPOSITORY LOG_GROUP EFS_FILE_SYSTEM_ID EFS_ACCESS_POINT_ID; do
    jq_args+=(--arg "$name" "${!name}")
  done
else
  run_to "$current" aws ecs describe-task-definition --task-definition "$TASK_FAMILY" --region "$AWS_REGION" --output json
fi

if is_dry_run; then
  echo "+ $(quote_args jq "${jq_args[@]}" -f "$DEPLOY_DIR/ecs/new-revision.jq" "$current") > $(quote_arg "$next")"
else
  jq "${jq_args[@]}" -f "$DEPLOY_DIR/ecs/new-revision.jq" "$current" >"$next" ||
    die "could not build the new task definition from $current"
  log "registering $TASK_FAMILY with image $(jq -r --arg c "$DIXIE_CONTAINER" '.containerDefinitions[] | select(.name == $c) | .image' "$next")"
fi

register=(aws ecs register-task-definition --region "$AWS_REGION" --cli-input-json "file://$next" --output json)
if is_dry_run; then
  run "${register[@]}"
else
  registered="$(run "${register[@]}")"
  jq -er '.taskDefinition.taskDefinitionArn' <<<"$registered" || die "register-task-definition returned no taskDefinitionArn"
fi
