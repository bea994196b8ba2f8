#!/usr/bin/env bash
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: deploy/build-push.sh [--dry-run] [--help]

Builds the image from deploy/Dockerfile, logs in to ECR and pushes it tagged with the short git
SHA of HEAD (or IMAGE_TAG) and 'latest'. Prints the tag to pass to deploy/register-task.sh.

  --dry-run   print the commands instead of running them
  --help      show this help

Environment: IMAGE_TAG (default: git rev-parse --short HEAD), DOCKER_PLATFORM (linux/amd64),
AWS_ACCOUNT_ID ($AWS_ACCOUNT_ID), AWS_REGION ($AWS_REGION), ECR_REPOSITORY ($ECR_REPOSITORY),
ECR_REGISTRY ($ECR_REGISTRY).
EOF
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

require_tools git
require_run_tools docker aws
cd "$REPO_ROOT"

tag="${IMAGE_TAG:-$(git rev-parse --short HEAD)}"
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid image tag '$tag'"
if [[ -z ${IMAGE_TAG:-} && -n "$(git status --porcelain --untracked-files=no)" ]]; then
  log "warning: the working tree has uncommitted changes; the image tagged $tag will include them"
fi

local_image="$ECR_REPOSITORY:$tag"
remote="$ECR_REGISTRY/$ECR_REPOSITORY"

log "building $local_image"
run docker build --platform "${DOCKER_PLATFORM:-linux/amd64}" -f deploy/Dockerfile -t "$local_image" .

log "logging in to $ECR_REGISTRY"
if is_dry_run; then
  echo "+ $(quote_args aws ecr get-login-password --region "$AWS_REGION") | $(quote_args docker login --username AWS --password-stdin "$ECR_REGISTRY")"
else
  password="$(run aws ecr get-login-password --region "$AWS_REGION")"
  run docker login --username AWS --password-stdin "$ECR_REGISTRY" <<<"$password" >/dev/null
fi

run docker tag "$local_image" "$remote:$tag"
run docker tag "$local_image" "$remote:latest"
log "pushing $remote:$tag and $remote:latest"
run docker push "$remote:$tag"
run docker push "$remote:latest"

is_dry_run || echo "pushed $remote:$tag (next: deploy/register-task.sh $tag)"
