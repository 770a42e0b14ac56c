-- GNU cat on a full disk, as installed: nothing to build. Every write()
-- fails with ENOSPC from cat's first instruction (the window is opened
-- before t:start()), and cat must exit 1 rather than end as if it had
-- copied its input (the report shows what it printed on stderr).
return {
  name    = "cat exits 1 when every write fails with ENOSPC",
  tags    = { "tools", "smoke" },
  seed    = 1,
  timeout = 20,
  target  = {
    cmd       = { "cat", "{tmpdir}/input" },
    exits     = true,    -- a batch job: it ends by itself
    autostart = false,   -- started by the script, after the window opened
  },
  run = function(t)
    local input = assert(io.open(t.tmpdir .. "/input", "w"))
    input:write(string.rep("a line of input\n", 1000))
    input:close()
    t:fault("posix/io/rw/write", { errno = "ENOSPC" })
    t:start()
    t:check(t:wait_exit(10) ~= nil, "cat did not end within 10 s")
    t:expect { exit = 1 }
  end,
}
