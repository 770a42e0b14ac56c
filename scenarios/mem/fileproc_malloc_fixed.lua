-- fileproc, fixed mode, under failing allocations: 2 % of malloc() calls
-- return NULL. Every path frees what it allocated, so RSS and fds come back
-- to the baseline and the health probe keeps answering.
return {
  name    = "fileproc fixed frees its buffers when malloc() fails",
  tags    = { "mem", "fileproc", "smoke" },
  seed    = 7,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/fileproc", "--mode", "fixed", "--port", "{port}",
               "--batch", "16", "--interval-ms", "20", "--buf-kib", "64",
               "--dir", "{tmpdir}" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  sample  = { hz = 200 },
  steady  = { fds = "+2", threads = "+0", rss = "+4MiB", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("libc/mm/malloc", { p = 0.02 })
    t:sleep(2)
    t:clear()
    t:expect_recovery { within = 0.5 }
    t:stop()
    t:expect { exit = 0, leaked = { fds = 0, threads = 0, rss = "4MiB" } }
  end,
}
