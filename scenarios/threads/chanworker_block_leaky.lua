-- chanworker, leaky mode: the goroutine leak. While fl/chan/send/block
-- holds 20 % of the workers' sends, each handler gives up after 50 ms and
-- walks away, but the worker's plain send waits for a receiver that will
-- never come: the thread (and its 64 KiB buffer) leaks, about 20 a second.
-- The harness must name the leaked threads: an expected failure.
return {
  name    = "chanworker leaky leaks workers blocked on a send",
  tags    = { "threads", "chanworker", "runtime" },
  seed    = 3,
  timeout = 30,
  xfail   = { reason = "workers blocked forever on a channel send (chanworker --mode leaky)",
              match = "leaked %d+ threads" },
  target  = {
    cmd    = { "fixtures/bin/chanworker", "--mode", "leaky", "--port", "{port}",
               "--rate", "100", "--handlers", "4", "--timeout-ms", "50" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  steady  = { threads = "+8", rss = "+16MiB", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("fl/chan/send/block", { p = 0.2 })
    t:sleep(2)
    t:clear()
    t:tcp("RATE 0\n", { expect = "OK" })
    t:quiesce { hold = 0.3, within = 5 }
    t:expect { leaked = { threads = 0 } }
    t:expect_recovery { within = 1 }
    t:stop()
    t:expect { exit = 0 }
  end,
}
