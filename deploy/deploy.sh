#!/usr/bin/env bash
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/deploy.sh [--dry-run] [revision]

Starts a new deployment of service $ECS_SERVICE in cluster $ECS_CLUSTER (--force-new-deployment).
With a revision (12, $TASK_FAMILY:12 or a task definition ARN) the service switches to it;
without one it redeploys its current task definition. Follow with deploy/verify.sh.

  --dry-run   print the command instead of running it
  --help      show this help

Environment: ECS_CLUSTER ($ECS_CLUSTER), ECS_SERVICE ($ECS_SERVICE), TASK_FAMILY ($TASK_FAMILY),
AWS_REGION ($AWS_REGION).
USAGE
}

revision=''
while (($#)); do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option '$1'" ;;
    *)
      [[ -z $revision ]] || usage_error "unexpected argument '$1'"
      revision=$1
      ;;
  esac
  shift
done

require_tools jq
require_run_tools aws

cmd=(aws ecs update-service --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" --force-new-deployment)
if [[ -n $revision ]]; then
  cmd+=(--task-definition "$(task_definition_ref "$revision")")
fi
cmd+=(--region "$AWS_REGION" --output json)

if is_dry_run; then
  run "${cmd[@]}"
  exit 0
fi
out="$(run "${cmd[@]}")"
jq -r '.service.deployments[] | select(.status == "PRIMARY")
  | "deployment \(.id) started with \(.taskDefinition)"' <<<"$out"
echo "next: deploy/verify.sh${revision:+ $(task_definition_ref "$revision")}"
