-- The smallest passing scenario.
return {
  name = "ok: minimal",
  target = { cmd = { "build/tests/targets/tgt" }, ready = { stdout = "READY" } },
  run = function(t)
    t:settle(0.2)
    t:stop()
    t:expect { exit = 0, leaked = { fds = 0 } }
  end,
}
