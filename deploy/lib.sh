#!/usr/bin/env bash
# Shared by the deploy scripts (sourced, never run): defaults, the dry-run aware `run`, tool checks
# and translation of AWS permission errors. Every default can be overridden from the environment.

: "${AWS_ACCOUNT_ID:=891376933289}"
: "${AWS_REGION:=us-east-1}"
: "${ECS_CLUSTER:=arrakis-staging-cluster}"
: "${ECS_SERVICE:=dixie-armitage}"
: "${TASK_FAMILY:=dixie-armitage}"
: "${DIXIE_CONTAINER:=dixie}"
: "${ECR_REPOSITORY:=dixie-armitage}"
: "${ECR_REGISTRY:=${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com}"
: "${LOG_GROUP:=/ecs/dixie-armitage}"
: "${SG_ECS:=sg-0790b2636abe2498e}"
: "${SG_RDS:=sg-08be68d1249489190}"
: "${SG_ALB:=sg-007cdd539bcc3360c}"
: "${DIXIE_HEALTH_URL:=https://dixie-armitage.arrakis.community}"
# No default: register-task.sh --from-template refuses to run without them (docs/runbook.md, EFS).
: "${EFS_FILE_SYSTEM_ID:=}"
: "${EFS_ACCESS_POINT_ID:=}"
# No default: check-network.sh checks the NFS rule only when it is set.
: "${SG_EFS:=}"
: "${DRY_RUN:=0}"

DEPLOY_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "$DEPLOY_DIR/.." && pwd)"
export AWS_ACCOUNT_ID AWS_REGION ECS_CLUSTER ECS_SERVICE TASK_FAMILY DIXIE_CONTAINER ECR_REPOSITORY \
  ECR_REGISTRY LOG_GROUP SG_ECS SG_RDS SG_ALB SG_EFS DIXIE_HEALTH_URL EFS_FILE_SYSTEM_ID EFS_ACCESS_POINT_ID \
  DRY_RUN DEPLOY_DIR REPO_ROOT

die() {
  echo "error: $*" >&2
  exit 1
}

usage_error() {
  echo "error: $*" >&2
  echo "Run with --help for usage." >&2
  exit 2
}

log() { echo "==> $*" >&2; }

is_dry_run() { [[ $DRY_RUN == 1 ]]; }

# Quote an argument only when the shell would need it, so dry-run output stays readable and
# can still be pasted into a shell as is.
quote_arg() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

quote_args() {
  local sep='' arg
  for arg in "$@"; do
    printf '%s' "$sep"
    quote_arg "$arg"
    sep=' '
  done
}

install_hint() {
  case $1 in
    aws) echo "install AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html" ;;
    docker) echo "install Docker: https://docs.docker.com/get-docker/" ;;
    jq) echo "install jq: apt-get install -y jq, or brew install jq" ;;
    git) echo "install git: apt-get install -y git, or brew install git" ;;
    curl) echo "install curl: apt-get install -y curl, or brew install curl" ;;
    *) echo "install $1" ;;
  esac
}

# require_tools TOOL... : fail before doing anything when a tool is missing.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required but was not found on PATH ($(install_hint "$tool"))"
  done
}

# Tools that only `run` invokes are not needed for a dry run.
require_run_tools() {
  is_dry_run || require_tools "$@"
}

# The IAM action an AWS CLI call needs: `aws ecs update-service` -> ecs:UpdateService.
aws_permission_for() {
  local service=$2 op=$3 action="" part
  local -a parts
  if [[ $1 == docker ]]; then
    case $2 in
      push) echo "ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage" ;;
      login) echo "ecr:GetAuthorizationToken" ;;
      *) echo "ecr:BatchGetImage" ;;
    esac
    return
  fi
  if [[ $service == ecr && $op == get-login-password ]]; then
    echo "ecr:GetAuthorizationToken"
    return
  fi
  IFS=- read -ra parts <<<"$op"
  for part in "${parts[@]}"; do action+="${part^}"; done
  echo "$service:$action"
}

# run CMD ARGS... : print the command in dry-run mode, else run it. Its stderr is shown and kept
# so that an AWS permission error can be explained with the IAM permission the runbook lists.
run() {
  if is_dry_run; then
    echo "+ $(quote_args "$@")"
    return 0
  fi
  local errf rc=0
  errf="$(mktemp)"
  { "$@" 2>&1 1>&3 3>&- | tee "$errf" >&2; } 3>&1 || rc=$?
  if ((rc != 0)); then
    if grep -Eq 'AccessDenied|UnauthorizedOperation|UnauthorizedAccess|not authorized to perform|denied: ' "$errf"; then
      rm -f "$errf"
      echo "error: permission denied for '$(quote_args "${@:1:3}")' in account $AWS_ACCOUNT_ID ($AWS_REGION)." >&2
      echo "       The caller needs IAM permission: $(aws_permission_for "$@")" >&2
      echo "       (see docs/runbook.md, 'Required AWS permissions')." >&2
      exit 1
    fi
    rm -f "$errf"
    die "command failed with exit code $rc: $(quote_args "$@")"
  fi
  rm -f "$errf"
}

# run_to FILE CMD ARGS... : like run, with the command's standard output written to FILE.
run_to() {
  local file=$1
  shift
  if is_dry_run; then
    echo "+ $(quote_args "$@") > $(quote_arg "$file")"
  else
    run "$@" >"$file"
  fi
}

# Converts a revision argument (12, dixie-armitage:12 or a full ARN) into a task definition ref.
task_definition_ref() {
  local rev=$1
  if [[ $rev =~ ^[0-9]+$ ]]; then
    echo "$TASK_FAMILY:$rev"
  elif [[ $rev =~ ^[A-Za-z0-9_-]+:[0-9]+$ || $rev =~ ^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[A-Za-z0-9_-]+:[0-9]+$ ]]; then
    echo "$rev"
  else
    usage_error "'$rev' is not a revision: use a number (12), $TASK_FAMILY:12 or a task definition ARN"
  fi
}
