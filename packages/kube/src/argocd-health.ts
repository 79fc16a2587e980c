// How Argo CD assesses Ringmaster's AppCluster (packages/operator): a health customization in
// argocd-cm, the same rule as kube's assessHealth (health.ts) and the operator's appClusterHealth.
// The local fleet's Argo CD gets it (local-argocd.ts); users add the same key to their own argocd-cm
// (docs/operator.md).

/** The argocd-cm key of the customization (Argo CD's `resource.customizations.health.<group>_<kind>`). */
export const APP_CLUSTER_HEALTH_KEY = 'resource.customizations.health.ringmaster.dev_AppCluster';

/**
 * The Lua health check: paused → Suspended (Ringmaster reads it as Progressing); status not yet for
 * the current generation → Progressing; Degraded=True → Degraded; Ready=True → Healthy; else
 * Progressing — each with the condition's message.
 */
export const APP_CLUSTER_HEALTH_LUA = `hs = { status = "Progressing", message = "waiting for the operator" }
if obj.status == nil or obj.status.observedGeneration == nil then
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "waiting for the operator to observe generation " .. obj.metadata.generation
  return hs
end
local paused, degraded, ready = nil, nil, nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Paused" then paused = c end
    if c.type == "Degraded" then degraded = c end
    if c.type == "Ready" then ready = c end
  end
end
if paused ~= nil and paused.status == "True" then
  hs.status = "Suspended"
  hs.message = "paused: ringmaster.dev/paused is \\"true\\""
  return hs
end
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.message or degraded.reason or "Degraded"
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end
if ready ~= nil and ready.message ~= nil then hs.message = ready.message end
return hs
`;
