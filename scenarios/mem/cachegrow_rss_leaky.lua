-- cachegrow, leaky mode: the global cache never evicts. Under 500 lookups
-- a second of mostly new keys it keeps every 16 KiB value: RSS grows about
-- 8 MiB a second for as long as the load lasts, faults or not. The harness
-- must name the RSS leak: an expected failure.
return {
  name    = "cachegrow leaky grows RSS without bound",
  tags    = { "mem", "cachegrow" },
  seed    = 13,
  timeout = 30,
  xfail   = { reason = "unbounded global cache (cachegrow --mode leaky)",
              match = "leaked .* of RSS" },
  target  = {
    cmd    = { "fixtures/bin/cachegrow", "--mode", "leaky", "--port", "{port}",
               "--rate", "500", "--value-kib", "16" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  steady  = { fds = "+0", threads = "+0", rss = "+4MiB", health = true },
  run = function(t)
    t:sleep(0.5)
    t:settle(0.5)
    t:fault("libc/mm/malloc", { p = 0.02 })
    t:sleep(1)
    t:clear()
    t:sleep(1)
    t:expect { leaked = { rss = "4MiB", fds = 0, threads = 0 } }
    t:expect_recovery { within = 1 }
    t:stop()
    t:expect { exit = 0 }
  end,
}
