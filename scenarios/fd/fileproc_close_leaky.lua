-- fileproc, leaky mode: the defer-in-a-loop bug. Files stay open until the
-- batch ends, and a failed close() makes the batch return early without
-- running its deferred closes: those fds are lost for good. The harness
-- must catch the leak and name it, so this scenario is an expected failure.
return {
  name    = "fileproc leaky loses fds when close() fails",
  tags    = { "fd", "fileproc" },
  seed    = 1,
  timeout = 30,
  xfail   = { reason = "defer-in-a-loop leak (fileproc --mode leaky)",
              match = "leaked %d+ fds" },
  target  = {
    cmd    = { "fixtures/bin/fileproc", "--mode", "leaky", "--port", "{port}",
               "--batch", "16", "--interval-ms", "20", "--dir", "{tmpdir}" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  sample  = { hz = 200 },
  -- The batch itself holds up to 16 files open: that is allowed.
  steady  = { fds = "+17", threads = "+0", rss = "+8MiB", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("posix/io/oc/close", { p = 0.3, errno = "EIO" })
    t:sleep(2)
    t:clear()
    t:expect_recovery { within = 0.5 }
    t:stop()
    t:expect { exit = 0, leaked = { fds = 0, threads = 0 } }
  end,
}
