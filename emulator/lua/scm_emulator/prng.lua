-- A small deterministic pseudo-random generator for the data set.
--
-- Park-Miller "minimal standard" LCG (multiplier 48271, modulus 2^31 - 1).
-- Every intermediate product stays below 2^47, so the arithmetic is exact in
-- LuaJIT's doubles (and in any Lua). math.random is not used because its
-- algorithm differs between Lua builds, and the data set must depend only on
-- (count, seed, base time).

local MODULUS = 2147483647
local MULTIPLIER = 48271

local Prng = {}
Prng.__index = Prng

local M = {}

-- seed: any integer >= 0.
function M.new(seed)
  -- The state must lie in 1 .. MODULUS - 1.
  local self = setmetatable({ state = seed % (MODULUS - 1) + 1 }, Prng)
  -- Neighbouring seeds start close together; a few steps spread them apart.
  for _ = 1, 8 do self:next() end
  return self
end

function Prng:next()
  self.state = (self.state * MULTIPLIER) % MODULUS
  return self.state
end

-- Uniform in [0, 1).
function Prng:float()
  return (self:next() - 1) / (MODULUS - 1)
end

-- Uniform integer in [lo, hi].
function Prng:int(lo, hi)
  return lo + math.floor(self:float() * (hi - lo + 1))
end

function Prng:chance(probability)
  return self:float() < probability
end

function Prng:pick(list)
  return list[self:int(1, #list)]
end

-- choices: a table made by M.weights; returns one of its values.
function Prng:weighted(choices)
  local x = self:float() * choices.total
  for i = 1, #choices do
    x = x - choices[i][2]
    if x < 0 then return choices[i][1] end
  end
  return choices[#choices][1]
end

-- M.weights{ {value, weight}, ... } precomputes the total weight once.
function M.weights(list)
  local total = 0
  for i = 1, #list do total = total + list[i][2] end
  list.total = total
  return list
end

return M
