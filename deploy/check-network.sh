#!/usr/bin/env bash
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/check-network.sh [--dry-run]

Checks the inbound security-group rules Dixie needs:
  dixie-ecs-to-postgres  arrakis-staging-rds ($SG_RDS) allows tcp 5432 from dixie-armitage-ecs ($SG_ECS)
  alb-to-dixie           dixie-armitage-ecs ($SG_ECS) allows tcp 3001 from arrakis-staging-alb ($SG_ALB)
  dixie-ecs-to-efs       dixie-armitage-efs (${SG_EFS:-SG_EFS}) allows tcp 2049 (NFS) from dixie-armitage-ecs ($SG_ECS);
                         checked only when SG_EFS (the allowlist's EFS mount targets' group) is set
For each missing rule it prints the command that adds it, and exits 1. It changes nothing.

  --dry-run   print the commands instead of running them
  --help      show this help

Environment: SG_RDS, SG_ECS, SG_ALB, SG_EFS, AWS_REGION ($AWS_REGION).
USAGE
}

while (($#)); do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option '$1'" ;;
    *) usage_error "unexpected argument '$1'" ;;
  esac
  shift
done

require_tools jq
require_run_tools aws

# check_rule NAME TARGET_SG TARGET_LABEL PORT SOURCE_SG SOURCE_LABEL
missing=0
check_rule() {
  local name=$1 group=$2 group_label=$3 port=$4 source=$5 source_label=$6 rules
  local describe=(aws ec2 describe-security-group-rules --filters "Name=group-id,Values=$group" --region "$AWS_REGION" --output json)
  if is_dry_run; then
    run "${describe[@]}"
    return
  fi
  rules="$(run "${describe[@]}")"
  if jq -e --argjson port "$port" --arg source "$source" '
      any(.SecurityGroupRules[]?;
        .IsEgress == false
        and (.ReferencedGroupInfo.GroupId // "") == $source
        and (.IpProtocol == "-1" or (.IpProtocol == "tcp" and .FromPort <= $port and .ToPort >= $port)))' \
    <<<"$rules" >/dev/null; then
    echo "ok       $name: $group_label ($group) allows tcp $port from $source_label ($source)"
  else
    missing=$((missing + 1))
    echo "MISSING  $name: $group_label ($group) does not allow tcp $port from $source_label ($source)"
    echo "         add it with:"
    echo "         $(quote_args aws ec2 authorize-security-group-ingress --group-id "$group" --protocol tcp --port "$port" --source-group "$source" --region "$AWS_REGION")"
  fi
}

check_rule dixie-ecs-to-postgres "$SG_RDS" arrakis-staging-rds 5432 "$SG_ECS" dixie-armitage-ecs
check_rule alb-to-dixie "$SG_ECS" dixie-armitage-ecs 3001 "$SG_ALB" arrakis-staging-alb
if [[ -n $SG_EFS ]]; then
  check_rule dixie-ecs-to-efs "$SG_EFS" dixie-armitage-efs 2049 "$SG_ECS" dixie-armitage-ecs
else
  echo "skipped  dixie-ecs-to-efs: SG_EFS (the EFS mount targets' security group) is not set"
fi

if ((missing > 0)); then
  echo "$missing required rule(s) missing" >&2
  exit 1
fi
