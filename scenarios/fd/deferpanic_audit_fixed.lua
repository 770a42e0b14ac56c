-- deferpanic, fixed mode, while the audit step of the cleanup panics in
-- 30 % of the jobs (deferpanic/audit, a point the fixture declares). Each
-- cleanup step is its own deferred call, so a panic in the audit does not
-- stop the others: the lease is released, both files are closed, the job's
-- boundary recovers the panic, and nothing is left behind.
return {
  name    = "deferpanic fixed runs every cleanup when one of them panics",
  tags    = { "fd", "deferpanic", "runtime" },
  seed    = 11,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/deferpanic", "--mode", "fixed", "--port", "{port}",
               "--rate", "100", "--dir", "{tmpdir}" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  -- A job holds three fds while it runs.
  steady  = { fds = "+3", threads = "+0", rss = "+8MiB", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("deferpanic/audit", { p = 0.3, errno = "EIO" })
    t:sleep(2)
    t:clear()
    -- Stop the jobs, so that the final count holds no job in flight.
    t:tcp("RATE 0\n", { expect = "OK" })
    t:quiesce { hold = 0.3, within = 5 }
    t:expect { leaked = { fds = 0, threads = 0 } }
    t:expect_recovery { within = 1 }
    t:stop()
    t:expect { exit = 0 }
  end,
}
