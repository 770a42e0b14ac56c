-- Debian's sqlite3 shell runs a small script (docs/sweep/sqlite3.sql): a
-- table, 200 rows in a transaction, an index, a query, an update, a
-- delete, an integrity check. Swept with
--
--   faultline sweep -j 2 --points 'libc/mm/*,posix/io/*' docs/sweep/sqlite3.lua
--
-- every call site of an allocation or a file operation fails once (from
-- the first instruction: the shell is a batch job). What is expected of
-- the shell when a call fails: it does not crash or hang, and it ends
-- with status 0, or 1 (it prints why on stderr).
return {
  name    = "sqlite3 shell runs a small script",
  tags    = { "sweep", "real" },
  seed    = 1,
  timeout = 30,
  target  = {
    cmd       = { "sqlite3", "-bail", "{tmpdir}/test.db", ".read docs/sweep/sqlite3.sql" },
    autostart = false,
    exits     = true,
  },
  run = function(t)
    t:start()
    local ex = t:wait_exit(20)
    t:check(ex ~= nil, "sqlite3 ended within 20 s")
    if ex then
      t:check(ex.code == 0 or ex.code == 1,
              "sqlite3 ended with status 0 or 1, not " .. tostring(ex.code or ex.signal))
    end
  end,
}
