-- fileproc, fixed mode: every file is closed as soon as it has been read.
-- Under failing close() calls (30 % of them, Linux semantics: the fd is
-- released even though close reports an error) it reports the errors and
-- keeps no fd: the fd count comes back to the baseline at once and nothing
-- leaks.
return {
  name    = "fileproc fixed keeps no fd when close() fails",
  tags    = { "fd", "fileproc", "smoke" },
  seed    = 1,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/fileproc", "--mode", "fixed", "--port", "{port}",
               "--batch", "16", "--interval-ms", "20", "--dir", "{tmpdir}" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  sample  = { hz = 200 },
  steady  = { fds = "+2", threads = "+0", rss = "+8MiB", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("posix/io/oc/close", { p = 0.3, errno = "EIO" })
    t:sleep(2)
    t:clear()
    t:expect_recovery { within = 0.5 }
    t:stop()
    t:expect { exit = 0, leaked = { fds = 0, threads = 0 } }
  end,
}
