-- cachegrow, leaky mode, under heavy load: every 64 KiB value stays in the
-- global map, RSS climbs about 64 MiB a second, and the OOM precursor
-- fires when it reaches 96 MiB: the report keeps the fd table, the threads
-- and smaps_rollup from that moment, as an OOM-precursor dump would. The
-- RSS trend is what fails: an expected failure.
return {
  name    = "cachegrow leaky climbs towards the OOM killer",
  tags    = { "mem", "cachegrow", "oom" },
  seed    = 17,
  timeout = 30,
  xfail   = { reason = "unbounded global cache under load (cachegrow --mode leaky)",
              match = "rss grows" },
  target  = {
    cmd    = { "fixtures/bin/cachegrow", "--mode", "leaky", "--port", "{port}",
               "--rate", "1000", "--value-kib", "64" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
    oom    = { rss = "96MiB", core = false },
  },
  steady  = { fds = "+0", threads = "+0", rss = "+8MiB", health = true },
  run = function(t)
    t:setrlimit("as", "1GiB")
    t:sleep(0.3)
    t:settle(0.5)
    t:sleep(2)
    t:expect { trend = { rss = "1MiB/s", window = 1.5 } }
    t:expect { leaked = { rss = "8MiB" } }
    t:stop()
    t:expect { exit = 0 }
  end,
}
