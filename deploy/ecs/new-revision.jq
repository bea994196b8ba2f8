# Turns `aws ecs describe-task-definition` output (or the bare template in this folder) into input
# for `aws ecs register-task-definition`: read-only fields removed, the container's image re-tagged.
# Arguments: --arg container NAME --arg tag TAG
(if has("taskDefinition") then .taskDefinition else . end)
| del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
      .registeredAt, .registeredBy, .deregisteredAt)
| if any(.containerDefinitions[]; .name == $container) then .
  else error("no container named \"\($container)\" in the task definition") end
| .containerDefinitions |= map(
    if .name == $container
    then .image = (.image | sub("@sha256:[0-9a-f]+$"; "") | sub(":[^:/]*$"; "")) + ":" + $tag
    else . end)
