-- fatalexit, fixed mode, while 5 % of write() calls fail with ENOSPC. A job
-- spools its input into 8 temporary files in {tmpdir}/spool; an error is a
-- panic, so unwinding runs the deferred removals, the job's boundary
-- recovers, and the service goes on. The watched directory comes back to
-- empty after every failed job.
-- Needs target.watch (files in a directory, sampled as a fourth figure).
return {
  name    = "fatalexit fixed removes its temporary files when a write fails",
  tags    = { "files", "fatalexit", "runtime" },
  seed    = 2,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/fatalexit", "--mode", "fixed", "--port", "{port}",
               "--dir", "{tmpdir}/spool", "--files", "8", "--rate", "100" },
    watch  = "{tmpdir}/spool",
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  -- A job in flight holds its 8 files (and fds) for a moment.
  steady  = { fds = "+8", threads = "+0", files = "+8", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("posix/io/rw/write", { p = 0.05, errno = "ENOSPC" })
    -- The leaky mode exits at its first failed write; the fixed one lives.
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
