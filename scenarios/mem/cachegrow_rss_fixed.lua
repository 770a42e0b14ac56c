-- cachegrow, fixed mode: a bounded LRU of 128 values of 16 KiB under 500
-- lookups a second of mostly new keys, with 2 % of allocations failing for
-- a second. Each new key evicts the oldest, so RSS levels off at about
-- 2 MiB of values; a failed allocation fails that lookup only.
return {
  name    = "cachegrow fixed keeps a bounded cache under load",
  tags    = { "mem", "cachegrow" },
  seed    = 13,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/cachegrow", "--mode", "fixed", "--port", "{port}",
               "--rate", "500", "--value-kib", "16", "--cache-max", "128" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  steady  = { fds = "+0", threads = "+0", rss = "+4MiB", health = true },
  run = function(t)
    t:sleep(0.5)                       -- the cache fills (128 x 16 KiB)
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
