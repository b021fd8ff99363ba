-- Hostile response bodies give a decode err, never a crash: through
-- scm.decode, the same path every response takes after the transport.
local scm = require("scm")

describe("decoding hostile bodies", function()
  local function decode_fails(body, fragment)
    local page, err = scm.decode(200, body)
    assert.is_nil(page)
    assert.equal("decode", err.kind)
    if fragment then assert.matches(fragment, err.message) end
    return err
  end

  local good = '{"certificates":[{"id":"scs0000000000001","n":12,"d":null}],"total_count":1}'

  it("decodes a good page", function()
    local page = assert(scm.decode(200, good, { ["X-Request-Id"] = "abc" }))
    assert.equal("scs0000000000001", page.certificates[1].id)
    assert.is_nil(page.certificates[1].d)
    assert.equal("abc", page.request_id)
  end)

  it("deeply nested JSON", function()
    decode_fails(string.rep("[", 100000) .. string.rep("]", 100000), "invalid JSON")
    decode_fails('{"certificates":' .. string.rep("[", 5000) .. string.rep("]", 5000) .. ',"total_count":0}')
  end)

  it("binary junk", function()
    local bytes = {}
    local seed = 7
    for i = 1, 4096 do
      seed = (seed * 1103515245 + 12345) % 2147483648
      bytes[i] = string.char(seed % 256)
    end
    decode_fails(table.concat(bytes))
    decode_fails("\0\0\0\0")
    decode_fails("")
  end)

  it("invalid UTF-8", function()
    for _, bad in ipairs({ "\255", "\192\175", "\224\128\175", "\237\160\128", "\244\144\128\128", "\195" }) do
      decode_fails('{"certificates":[{"id":"' .. bad .. '"}],"total_count":1}', "not valid UTF%-8")
    end
    -- valid multi-byte text passes
    local page = assert(scm.decode(200, '{"certificates":[{"id":"é中😀"}],"total_count":1}'))
    assert.equal("é中😀", page.certificates[1].id)
  end)

  it("enormous numbers", function()
    decode_fails('{"certificates":[],"total_count":1e400}')
    decode_fails('{"certificates":[{"id":"x","validity_period":-1e999}],"total_count":1}', "out of range")
    decode_fails('{"certificates":[],"total_count":' .. string.rep("9", 400) .. '}')
    decode_fails('{"certificates":[],"total_count":NaN}')
  end)

  it("a body far larger than a page, as a value", function()
    local page = assert(scm.decode(200, '{"certificates":[{"id":"' .. string.rep("a", 1000000)
      .. '"}],"total_count":1}'))
    assert.equal(1000000, #page.certificates[1].id)
  end)

  it("non-2xx bodies of every shape", function()
    for _, body in ipairs({ "", "\255\254", "[1]", '{"error_code":5}', '{"error":"x"}',
      string.rep("{", 10000), '{"error_code":"SCM.1","error_msg":' .. string.rep("[", 1000) .. "}" }) do
      local page, err = scm.decode(500, body)
      assert.is_nil(page)
      assert.is_true(err.kind == "http" or err.kind == "api")
      assert.equal(500, err.status)
    end
  end)

  it("a null among the certificates, first or last", function()
    decode_fails('{"certificates":[null,{"id":"a"}],"total_count":2}', "not an object")
    decode_fails('{"certificates":[{"id":"a"},null],"total_count":2}', "not an object")
    decode_fails('{"certificates":[{"id":"a"},null,null],"total_count":3}', "not an object")
  end)

  it("bytes after the JSON text", function()
    decode_fails(good .. "\0garbage")
    decode_fails(good .. "\0")
    decode_fails('{"certificates":[],"total_count":0}\0{"x":1}')
    assert(scm.decode(200, good .. " \r\n\t"))
  end)
end)
