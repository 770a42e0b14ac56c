-- connpool, fixed mode, under failing connect() (30 %) and send() (10 %):
-- one pool of 4 connections shared by every call. A call that fails closes
-- its connection on every path and the pool opens a new one later, so the
-- fd count never rises above the baseline and nothing leaks.
return {
  name    = "connpool fixed keeps its pool when connect() and send() fail",
  tags    = { "fd", "connpool", "net" },
  seed    = 5,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/connpool", "--mode", "fixed", "--port", "{port}",
               "--rate", "200", "--handlers", "4", "--pool-max", "4" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  -- A call in flight holds a connection of the pool, never more: fds only
  -- drop below the baseline while broken connections wait to be reopened.
  steady  = { fds = "+2", threads = "+0", rss = "+8MiB", health = true },
  run = function(t)
    t:settle(0.5)
    t:fault("posix/io/net/connect", { p = 0.3, errno = "ECONNREFUSED" })
    t:fault("posix/io/net/send", { p = 0.1, errno = "EPIPE" })
    t:sleep(2)
    t:clear()
    t:tcp("RATE 0\n", { expect = "OK" })
    t:quiesce { hold = 0.3, within = 5 }
    t:expect { leaked = { fds = 0, threads = 0 } }
    t:expect_recovery { within = 1 }
    t:stop()
    t:expect { exit = 0 }
  end,
}
