-- A scenario whose run() raises an error on line 9.
return {
  name = "error: runtime error on line 9",
  target = { cmd = { "build/tests/targets/tgt" }, ready = { stdout = "READY" } },
  run = function(t)
    t:settle(0.1)
    local x = nil
    -- the next line is 9
    return x.field
  end,
}
