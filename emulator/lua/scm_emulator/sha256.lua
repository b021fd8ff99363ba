-- SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in plain Lua on LuaJIT's
-- `bit` library, for checking AK/SK request signatures.
--
-- `bit` works on 32-bit signed integers: every result of a bit operation is
-- in -2^31..2^31-1, and bit.tobit() brings a sum of such values back into
-- that range modulo 2^32, which is the addition SHA-256 needs. A few
-- kilobytes are hashed per request, so speed is not a concern.

local bit = require "bit"

local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local lshift, rshift, ror = bit.lshift, bit.rshift, bit.ror
local tobit, tohex = bit.tobit, bit.tohex
local byte, char, concat = string.byte, string.char, table.concat

local M = {}

-- Round constants: the first 32 bits of the fractional parts of the cube
-- roots of the first 64 primes.
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

-- Initial hash value: the first 32 bits of the fractional parts of the
-- square roots of the first 8 primes.
local H0 = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

for i = 1, #K do K[i] = tobit(K[i]) end
for i = 1, #H0 do H0[i] = tobit(H0[i]) end

-- The message padded to a multiple of 64 bytes: a 1 bit, zeros, then the
-- message length in bits as a 64-bit big-endian integer.
local function pad(msg)
  local bits = #msg * 8
  local zeros = (55 - #msg) % 64
  local high, low = math.floor(bits / 2 ^ 32), bits % 2 ^ 32
  local tail = {}
  for i = 1, 4 do tail[i] = band(rshift(high, 32 - 8 * i), 0xff) end
  for i = 1, 4 do tail[4 + i] = band(rshift(low, 32 - 8 * i), 0xff) end
  return msg .. "\128" .. ("\0"):rep(zeros) .. char(unpack(tail))
end

-- Processes the 64-byte block of `data` starting at `pos` into hash `h`.
local w = {}
local function compress(h, data, pos)
  for i = 1, 16 do
    local b1, b2, b3, b4 = byte(data, pos + 4 * i - 4, pos + 4 * i - 1)
    w[i] = bor(lshift(b1, 24), lshift(b2, 16), lshift(b3, 8), b4)
  end
  for i = 17, 64 do
    local v15, v2 = w[i - 15], w[i - 2]
    local s0 = bxor(ror(v15, 7), ror(v15, 18), rshift(v15, 3))
    local s1 = bxor(ror(v2, 17), ror(v2, 19), rshift(v2, 10))
    w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
  end

  local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
  for i = 1, 64 do
    local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
    local ch = bxor(band(e, f), band(bnot(e), g))
    local t1 = hh + S1 + ch + K[i] + w[i]
    local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
    local maj = bxor(band(a, b), band(a, c), band(b, c))
    local t2 = S0 + maj
    hh, g, f = g, f, e
    e = tobit(d + t1)
    d, c, b = c, b, a
    a = tobit(t1 + t2)
  end

  h[1], h[2], h[3], h[4] = tobit(h[1] + a), tobit(h[2] + b), tobit(h[3] + c), tobit(h[4] + d)
  h[5], h[6], h[7], h[8] = tobit(h[5] + e), tobit(h[6] + f), tobit(h[7] + g), tobit(h[8] + hh)
end

local function words_to_bytes(words)
  local out = {}
  for i, v in ipairs(words) do
    out[i] = char(band(rshift(v, 24), 0xff), band(rshift(v, 16), 0xff),
      band(rshift(v, 8), 0xff), band(v, 0xff))
  end
  return concat(out)
end

-- The 32-byte SHA-256 digest of the string msg.
function M.digest(msg)
  local h = {}
  for i = 1, 8 do h[i] = H0[i] end
  local data = pad(msg)
  for pos = 1, #data, 64 do compress(h, data, pos) end
  return words_to_bytes(h)
end

-- Lowercase hex of a binary string.
function M.tohex(s)
  local out = {}
  for i = 1, #s do out[i] = tohex(byte(s, i), 2) end
  return concat(out)
end

function M.hex(msg)
  return M.tohex(M.digest(msg))
end

local BLOCK = 64

local function xor_pad(key, value)
  local out = {}
  for i = 1, BLOCK do out[i] = char(bxor(byte(key, i), value)) end
  return concat(out)
end

-- The 32-byte HMAC-SHA256 of msg under key.
function M.hmac(key, msg)
  if #key > BLOCK then key = M.digest(key) end
  key = key .. ("\0"):rep(BLOCK - #key)
  return M.digest(xor_pad(key, 0x5c) .. M.digest(xor_pad(key, 0x36) .. msg))
end

function M.hmac_hex(key, msg)
  return M.tohex(M.hmac(key, msg))
end

return M
