-- cachegrow, fixed mode, under heavy load (1000 lookups a second of 64 KiB
-- values): the bounded LRU holds 64 of them, 4 MiB, and RSS stays flat. The
-- OOM precursor is armed at 96 MiB and never fires; the address space is
-- capped at 1 GiB so that a runaway could not take the machine down.
return {
  name    = "cachegrow fixed stays flat under heavy load",
  tags    = { "mem", "cachegrow", "oom" },
  seed    = 17,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/cachegrow", "--mode", "fixed", "--port", "{port}",
               "--rate", "1000", "--value-kib", "64", "--cache-max", "64" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
    oom    = { rss = "96MiB", core = false },
  },
  steady  = { fds = "+0", threads = "+0", rss = "+8MiB", health = true },
  run = function(t)
    t:setrlimit("as", "1GiB")
    t:sleep(0.3)                       -- the cache fills (64 x 64 KiB)
    t:settle(0.5)
    t:sleep(2)
    t:expect { trend = { rss = "1MiB/s", window = 1.5 } }
    t:expect { leaked = { rss = "8MiB" } }
    t:stop()
    t:expect { exit = 0 }
  end,
}
