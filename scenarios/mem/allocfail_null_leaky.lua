-- allocfail, leaky mode with --unchecked: besides losing what it allocated,
-- the error path uses one allocation without checking it. The first time
-- that malloc() fails (5 % do) the record's name is written through NULL
-- and the process dies of SIGSEGV. The harness must report the crash: an
-- expected failure. (The fixed mode checks every allocation, with or
-- without --unchecked: allocfail_malloc_fixed covers it.)
return {
  name    = "allocfail leaky crashes on a NULL it did not check",
  tags    = { "mem", "allocfail", "crash" },
  seed    = 19,
  timeout = 30,
  xfail   = { reason = "an unchecked malloc() result (allocfail --mode leaky --unchecked)",
              match = "SIGSEGV" },
  target  = {
    cmd    = { "fixtures/bin/allocfail", "--mode", "leaky", "--port", "{port}",
               "--rate", "200", "--unchecked" },
    ready  = { stdout = "READY" },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05 },
  },
  steady  = { fds = "+0", threads = "+0", health = true },
  run = function(t)
    t:settle(0.3)
    t:fault("libc/mm/malloc", { p = 0.05 })
    t:sleep(2)
    t:clear()
    t:stop()
    t:expect { survived = true }
  end,
}
