-- Four threads (mt-worker-1..4, actors 0.1..0.4) each open and close
-- /dev/null 300 times while 30 % of their close() calls fail. The faults
-- that fire depend only on the seed: the same journal in every run.
return {
  name = "det: close faults in four threads",
  seed = 3,
  tags = { "det" },
  target = { cmd = { "build/tests/targets/mt", "--port", "{port}" }, ready = { stdout = "READY" } },
  run = function(t)
    t:settle(0.1)
    t:fault("posix/io/oc/close", { p = 0.3, actors = "0.*" })
    local r = t:tcp("RUN 300\n", { timeout = 20 })
    t:check(r and r:match("^DONE"), "the workers finished: " .. tostring(r))
    t:clear()
    t:stop()
  end,
}
