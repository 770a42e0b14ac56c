-- t:assert and t:fail end the run with FAIL (not ERROR), and a pcall in
-- the script cannot swallow them.
return {
  {
    name = "fail: t:assert false",
    target = { cmd = { "build/tests/targets/tgt" }, ready = { stdout = "READY" } },
    run = function(t)
      t:check(false, "a check that fails but lets the run go on")
      pcall(function() t:assert(1 == 2, "one is not two") end)
      t:log("not reached")
    end,
  },
  {
    name = "fail: t:fail",
    target = { cmd = { "build/tests/targets/tgt" }, ready = { stdout = "READY" } },
    run = function(t)
      t:fail("failed on purpose")
    end,
  },
}
