-- The same, with open() failing too: the close() decisions must not move.
return {
  name = "det: close faults with open faults alongside",
  seed = 3,
  tags = { "det" },
  target = { cmd = { "build/tests/targets/mt", "--port", "{port}" }, ready = { stdout = "READY" } },
  run = function(t)
    t:settle(0.1)
    t:fault("posix/io/oc/close", { p = 0.3, actors = "0.*" })
    t:fault("posix/io/oc/open", { p = 0.2, actors = "0.*" })
    local r = t:tcp("RUN 300\n", { timeout = 20 })
    t:check(r and r:match("^DONE"), "the workers finished: " .. tostring(r))
    t:clear()
    t:stop()
  end,
}
