-- fileproc, leaky mode, under failing allocations: after a failed malloc()
-- the batch returns early and forgets the buffers (and fds) it deferred.
-- RSS grows with every abandoned batch; the harness must catch it.
return {
  name    = "fileproc leaky loses buffers when malloc() fails",
  tags    = { "mem", "fileproc" },
  seed    = 7,
  timeout = 30,
  xfail   = { reason = "error path forgets its deferred frees (fileproc --mode leaky)",
              match = "leaked .* of RSS" },
  target  = {
    cmd    = { "fixtures/bin/fileproc", "--mode", "leaky", "--port", "{port}",
               "--batch", "16", "--interval-ms", "20", "--buf-kib", "64",
               "--dir", "{tmpdir}" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  sample  = { hz = 200 },
  steady  = { fds = "+17", threads = "+0", rss = "+4MiB", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("libc/mm/malloc", { p = 0.02 })
    t:sleep(2)
    t:clear()
    t:expect_recovery { within = 0.5 }
    t:stop()
    t:expect { exit = 0, leaked = { rss = "4MiB", threads = 0 } }
  end,
}
