-- fatalexit, leaky mode: an error in a job is fatal, as Go's log.Fatal. At
-- the first failed write (5 % fail with ENOSPC) the process calls exit(1),
-- which runs no deferred call, so the job's 8 temporary files stay in
-- {tmpdir}/spool for good. The harness must name the leaked files: an
-- expected failure.
-- Needs target.watch (files in a directory, sampled as a fourth figure).
return {
  name    = "fatalexit leaky leaves its temporary files behind on a fatal exit",
  tags    = { "files", "fatalexit", "runtime" },
  seed    = 2,
  timeout = 30,
  xfail   = { reason = "exit(1) instead of a panic skips the cleanups (fatalexit --mode leaky)",
              match = "leaked %d+ files" },
  target  = {
    cmd    = { "fixtures/bin/fatalexit", "--mode", "leaky", "--port", "{port}",
               "--dir", "{tmpdir}/spool", "--files", "8", "--rate", "100" },
    watch  = "{tmpdir}/spool",
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  steady  = { fds = "+8", threads = "+0", files = "+8", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("posix/io/rw/write", { p = 0.05, errno = "ENOSPC" })
    local exited = t:wait_exit(2)
    if not exited then
      t:clear()
      t:expect_recovery { within = 1 }
      -- Stop the jobs, so that the final count holds no job in flight.
      t:tcp("RATE 0\n", { expect = "OK" })
      t:quiesce { hold = 0.3, within = 5 }
      t:stop()
    end
    t:expect { leaked = { files = 0 } }
    t:expect { exit = 0 }
  end,
}
