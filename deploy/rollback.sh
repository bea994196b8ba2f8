#!/usr/bin/env bash
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/rollback.sh [--dry-run] [--no-verify] <revision>

Points service $ECS_SERVICE back at task definition $TASK_FAMILY:<revision> (or a full
family:revision / ARN), then runs deploy/verify.sh for that revision unless --no-verify.
List recent revisions with:
  aws ecs list-task-definitions --family-prefix $TASK_FAMILY --sort DESC --max-items 5 --region $AWS_REGION

  --dry-run     print the commands instead of running them
  --no-verify   do not wait for the rollback to complete
  --help        show this help
USAGE
}

revision=''
verify=1
while (($#)); do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --no-verify) verify=0 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option '$1'" ;;
    *)
      [[ -z $revision ]] || usage_error "unexpected argument '$1'"
      revision=$1
      ;;
  esac
  shift
done
[[ -n $revision ]] || usage_error "missing <revision> (the task definition revision to roll back to)"
ref="$(task_definition_ref "$revision")"

require_tools jq
require_run_tools aws

cmd=(aws ecs update-service --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" --task-definition "$ref"
  --region "$AWS_REGION" --output json)
if is_dry_run; then
  run "${cmd[@]}"
else
  out="$(run "${cmd[@]}")"
  jq -r '.service.deployments[] | select(.status == "PRIMARY")
    | "rollback deployment \(.id) started with \(.taskDefinition)"' <<<"$out"
fi

if ((verify)); then
  exec "$DEPLOY_DIR/verify.sh" "$ref"
fi
