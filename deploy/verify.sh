#!/usr/bin/env bash
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/verify.sh [--dry-run] [revision]

Waits until the rollout of service $ECS_SERVICE is finished: the PRIMARY deployment is the only one
and its rolloutState is COMPLETED. Fails as soon as a deployment's rolloutState is FAILED, the ECS
deployment circuit breaker reports a rollback, or the PRIMARY deployment changes under it (with a
revision: when PRIMARY does not run that revision). Then polls <DIXIE_HEALTH_URL>/api/health until
its status is not 'unhealthy'.

  --dry-run   print the commands instead of running them
  --help      show this help

Environment: VERIFY_TIMEOUT_S (600, whole run), VERIFY_INTERVAL_S (10, between polls),
DIXIE_HEALTH_URL ($DIXIE_HEALTH_URL), ECS_CLUSTER ($ECS_CLUSTER), ECS_SERVICE ($ECS_SERVICE).
USAGE
}

expect=''
while (($#)); do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option '$1'" ;;
    *)
      [[ -z $expect ]] || usage_error "unexpected argument '$1'"
      expect="$(task_definition_ref "$1")"
      ;;
  esac
  shift
done

timeout_s="${VERIFY_TIMEOUT_S:-600}"
interval_s="${VERIFY_INTERVAL_S:-10}"
[[ $timeout_s =~ ^[0-9]+$ ]] || usage_error "VERIFY_TIMEOUT_S must be a whole number of seconds, got '$timeout_s'"
[[ $interval_s =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "VERIFY_INTERVAL_S must be a number of seconds, got '$interval_s'"
health_url="${DIXIE_HEALTH_URL%/}/api/health"

require_tools jq
require_run_tools aws curl

describe=(aws ecs describe-services --cluster "$ECS_CLUSTER" --services "$ECS_SERVICE" --region "$AWS_REGION" --output json)
health=(curl -sS --max-time 10 "$health_url")
if is_dry_run; then
  run "${describe[@]}"
  run "${health[@]}"
  exit 0
fi

started=$SECONDS
wait_or_time_out() {
  if ((SECONDS - started >= timeout_s)); then
    die "timed out after ${timeout_s}s waiting for $1"
  fi
  sleep "$interval_s"
}

watch=''
last=''
while true; do
  out="$(run "${describe[@]}")"
  verdict="$(jq -r --arg watch "$watch" --arg expect "$expect" -f "$DEPLOY_DIR/ecs/rollout-state.jq" <<<"$out")" ||
    die "could not read the describe-services output"
  IFS=$'\x1f' read -r state primary message <<<"$verdict"
  [[ -n $watch ]] || watch=$primary
  case $state in
    done)
      echo "$message"
      break
      ;;
    failed)
      echo "error: deployment of $ECS_SERVICE failed: $message" >&2
      echo "       Inspect: aws ecs describe-services --cluster $ECS_CLUSTER --services $ECS_SERVICE --region $AWS_REGION --query 'services[0].events[:10]'" >&2
      echo "       Logs:    aws logs tail $LOG_GROUP --since 15m --region $AWS_REGION" >&2
      exit 1
      ;;
    missing) die "service $ECS_SERVICE not found in cluster $ECS_CLUSTER: $message" ;;
  esac
  if [[ $message != "$last" ]]; then
    echo "$message"
    last=$message
  fi
  wait_or_time_out "the rollout to complete ($message)"
done

last=''
while true; do
  status=''
  if body="$("${health[@]}" 2>&1)"; then
    status="$(jq -r '.status // empty' <<<"$body" 2>/dev/null || true)"
  fi
  case $status in
    healthy)
      echo "health: $health_url reports healthy"
      exit 0
      ;;
    unhealthy | '') ;;
    *)
      echo "health: $health_url reports $status (see docs/runbook.md, 'Health')"
      exit 0
      ;;
  esac
  summary="health: ${status:-no JSON answer} from $health_url"
  if [[ $summary != "$last" ]]; then
    echo "$summary"
    last=$summary
  fi
  wait_or_time_out "$health_url to report a status other than unhealthy (last: ${status:-no JSON answer})"
done
