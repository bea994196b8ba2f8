# Turns `aws ecs describe-task-definition` output (or the bare template in this folder) into input
# for `aws ecs register-task-definition`: read-only fields removed, the container's image re-tagged.
# Arguments: --arg container NAME --arg tag TAG, and for the template one --arg NAME VALUE per
# ${NAME} placeholder it fills (register-task.sh passes the deploy/lib.sh values). A placeholder
# given an empty value is an error; ${…} of names not given is left alone.
($ARGS.named | del(.container, .tag)) as $values
| def fill:
    ("\\$\\{(?<name>" + ($values | keys | join("|")) + ")\\}") as $placeholder
    | ([.. | strings | match($placeholder; "g") | .captures[0].string | select($values[.] == "")] | unique) as $unset
    | if $unset == [] then .
      elif ($unset | length) == 1 then error("\($unset[0]) is not set: the task definition template needs it (see docs/runbook.md)")
      else error("\($unset | join(", ")) are not set: the task definition template needs them (see docs/runbook.md)") end
    | walk(if type == "string" then gsub($placeholder; $values[.name]) else . end);
(if has("taskDefinition") then .taskDefinition else . end)
| del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
      .registeredAt, .registeredBy, .deregisteredAt)
| if ($values | length) > 0 then fill else . end
| if any(.containerDefinitions[]; .name == $container) then .
  else error("no container named \"\($container)\" in the task definition") end
| .containerDefinitions |= map(
    if .name == $container
    then .image = (.image | sub("@sha256:[0-9a-f]+$"; "") | sub(":[^:/]*$"; "")) + ":" + $tag
    else . end)
