-- Test support: small table helpers every spec may use.
local M = {}

-- The ids of a list of certificates, in order.
function M.ids_of(list)
  local ids = {}
  for i, cert in ipairs(list) do ids[i] = cert.id end
  return ids
end

-- A new table with the keys of each table given, later ones winning
-- (options laid over defaults); nil arguments are skipped.
function M.merge(...)
  local out = {}
  for i = 1, select("#", ...) do
    for k, v in pairs(select(i, ...) or {}) do out[k] = v end
  end
  return out
end

return M
