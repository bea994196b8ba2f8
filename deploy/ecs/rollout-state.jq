# Reads `aws ecs describe-services` output; prints "state US primary-id US message" (US = the unit
# separator \u001f, so that empty fields survive `read`) where state is
# missing, failed, progress or done. Arguments: --arg watch DEPLOYMENT_ID (the PRIMARY deployment seen
# first, or ""), --arg expect TASK_DEF (family:revision or ARN the PRIMARY must run, or "").
def as_secs:
  if type == "number" then .
  elif type == "string" then
    (capture("^(?<t>[0-9-]+T[0-9:]+)(\\.[0-9]+)?(?<z>Z|[+-][0-9]{2}:?[0-9]{2})?$") // null) as $m
    | if $m == null then 0 else
        (($m.t + "Z") | fromdateiso8601)
        - (if ($m.z // "Z") == "Z" then 0
           else ($m.z | capture("(?<s>[+-])(?<h>[0-9]{2}):?(?<mi>[0-9]{2})")
                 | ((.h | tonumber) * 3600 + (.mi | tonumber) * 60) * (if .s == "-" then -1 else 1 end))
           end)
      end
  else 0 end;

(.services // [])[0] as $s
| if $s == null then
    ["missing", "", ((.failures // []) | map("\(.arn // "") \(.reason // "")") | join("; "))]
  else
    ($s.deployments // []) as $deps
    | ($deps | map(select(.status == "PRIMARY")) | first) as $p
    | ($expect != "" and $p != null
       and ($p.taskDefinition == $expect or ($p.taskDefinition | endswith("/" + $expect)))) as $pinned
    # A FAILED deployment older than the PRIMARY is history only when PRIMARY runs the revision asked
    # for (a rollback); otherwise it may be the deployment being verified, already rolled back by ECS.
    | ($deps | map(select(.rolloutState == "FAILED")
        | select(($pinned | not) or .id == $watch or .status == "PRIMARY"
                 or ((.createdAt | as_secs) >= ($p.createdAt | as_secs))))) as $failed
    # Only events since the PRIMARY deployment started: older ones belong to earlier deployments.
    | [($s.events // [])[]
        | select($p == null or (.createdAt | as_secs) >= ($p.createdAt | as_secs))
        | select(.message | test("circuit breaker|rolling back"; "i"))] as $breaker
    | ($p.id // "") as $id
    | if ($failed | length) > 0 then
        ["failed", $id, ([$failed[] | "deployment \(.id) (\(.taskDefinition)) rolloutState FAILED: \(.rolloutStateReason // "no reason given")"]
                         + [$breaker[].message] | join("; "))]
      elif ($breaker | length) > 0 then
        ["failed", $id, ([$breaker[].message] | join("; "))]
      elif $p != null and $watch != "" and $id != $watch then
        ["failed", $id, "the PRIMARY deployment changed from \($watch) to \($id) (\($p.taskDefinition)): ECS rolled back or another deployment started"]
      elif $p != null and $expect != "" and ($p.taskDefinition != $expect and ($p.taskDefinition | endswith("/" + $expect) | not)) then
        ["failed", $id, "the PRIMARY deployment \($id) runs \($p.taskDefinition), not \($expect)"]
      elif $p != null and ($deps | length) == 1 and $p.rolloutState == "COMPLETED" then
        ["done", $id, "deployment \($id) (\($p.taskDefinition)) COMPLETED: \($p.runningCount // 0)/\($p.desiredCount // 0) tasks running"]
      elif $p == null then
        ["progress", "", "no PRIMARY deployment yet"]
      else
        ["progress", $id, "deployment \($id) \($p.rolloutState // "?"): \($p.runningCount // 0)/\($p.desiredCount // 0) tasks running, \($deps | length) deployment(s) active"]
      end
  end
| map(tostring | gsub("[\n\r\u001f]"; " ")) | join("\u001f")
