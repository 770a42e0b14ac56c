-- A scenario that calls the API wrongly: an unknown option on line 7 and
-- a misspelled failure point, caught before it reaches libfiu.
return {
  name = "error: bad option",
  target = { cmd = { "build/tests/targets/tgt" }, ready = { stdout = "READY" } },
  run = function(t)
    t:fault("posix/io/oc/close", { prob = 0.5 })
  end,
}
