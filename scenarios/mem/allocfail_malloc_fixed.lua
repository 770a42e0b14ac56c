-- allocfail, fixed mode, while 5 % of malloc() calls fail: a record takes
-- five allocations, and one cleanup exit frees whatever was allocated when
-- one of them fails. RSS comes back to the baseline (16 records of 256 KiB
-- are kept, older ones freed) and the health probe keeps answering.
return {
  name    = "allocfail fixed frees what it allocated when malloc() fails",
  tags    = { "mem", "allocfail" },
  seed    = 19,
  timeout = 30,
  target  = {
    cmd    = { "fixtures/bin/allocfail", "--mode", "fixed", "--port", "{port}",
               "--rate", "200", "--buf-kib", "256", "--keep", "16" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  steady  = { fds = "+0", threads = "+0", rss = "+4MiB", health = true },
  run = function(t)
    t:sleep(0.3)                       -- the 16 kept records are made
    t:settle(0.5)
    t:fault("libc/mm/malloc", { p = 0.05 })
    t:sleep(2)
    t:clear()
    t:sleep(0.5)
    t:expect { leaked = { rss = "4MiB", fds = 0, threads = 0 } }
    t:expect_recovery { within = 1 }
    t:stop()
    t:expect { exit = 0 }
  end,
}
