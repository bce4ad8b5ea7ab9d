-- Argo CD health check for dhg.deckhouse.io/HelmChart, following the operator's kstatus
-- conditions (Ready, Reconciling, Stalled). Install it under
-- resource.customizations.health.dhg.deckhouse.io_HelmChart in argocd-cm (see docs/argocd.md).
hs = {}
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Reconciliation is suspended (spec.suspend)"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
if obj.metadata.generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting until generation " .. string.format("%d", obj.metadata.generation) .. " is reconciled"
  return hs
end
local ready = nil
local reconciling = nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Stalled" and c.status == "True" then
    hs.status = "Degraded"
    hs.message = c.message or c.reason or "Stalled"
    return hs
  end
  if c.type == "Ready" then ready = c end
  if c.type == "Reconciling" then reconciling = c end
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = (ready ~= nil and ready.message) or reconciling.message or "Reconciling"
  return hs
end
hs.status = "Degraded"
hs.message = (ready ~= nil and (ready.message or ready.reason)) or "Not ready"
return hs
