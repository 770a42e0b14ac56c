-- deferpanic, leaky mode: the whole cleanup is one deferred function, and
-- when its audit step panics (30 % of the jobs) the steps after it never
-- run. Each such job leaves its lease held (an fd with an flock on
-- job-N.lock, and the file) and its input fd open: about 60 fds a second.
-- The harness must name the leaked fds: an expected failure.
return {
  name    = "deferpanic leaky skips the cleanups after a panicking one",
  tags    = { "fd", "deferpanic", "runtime" },
  seed    = 11,
  timeout = 30,
  xfail   = { reason = "a panic inside a deferred cleanup skips the rest (deferpanic --mode leaky)",
              match = "leaked %d+ fds" },
  target  = {
    cmd    = { "fixtures/bin/deferpanic", "--mode", "leaky", "--port", "{port}",
               "--rate", "100", "--dir", "{tmpdir}" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
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
