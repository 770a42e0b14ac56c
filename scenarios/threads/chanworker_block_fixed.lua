-- chanworker, fixed mode, while fl/chan/send/block holds 20 % of the
-- workers' sends (as if no receiver will ever come). Each handler gives up
-- on its request after 50 ms and cancels the request's context; the
-- worker's send selects on that context, so it returns and the worker
-- thread ends. No thread is left behind.
return {
  name    = "chanworker fixed ends its workers when their send is held",
  tags    = { "threads", "chanworker", "runtime" },
  seed    = 3,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/chanworker", "--mode", "fixed", "--port", "{port}",
               "--rate", "100", "--handlers", "4", "--timeout-ms", "50" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  -- Workers come and go under load (a few at a time); a held send keeps
  -- one for at most the 50 ms timeout.
  steady  = { threads = "+8", rss = "+16MiB", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("fl/chan/send/block", { p = 0.2 })
    t:sleep(2)
    t:clear()
    -- Stop the load, so that the final count holds no worker in flight.
    t:tcp("RATE 0\n", { expect = "OK" })
    t:quiesce { hold = 0.3, within = 5 }
    t:expect { leaked = { threads = 0 } }
    t:expect_recovery { within = 1 }
    t:stop()
    t:expect { exit = 0 }
  end,
}
