-- Two scenarios that start the same fortified program, whose __write_chk
-- no wrapper covers: the run warns about it once, not once per scenario.
local function scenario(name)
  return {
    name = name,
    target = { cmd = { "build/tests/elf/gap" }, exits = true },
    run = function(t)
      local exit = t:wait_exit(10)
      t:check(exit and exit.code == 0, "gap exits 0")
    end,
  }
end
return { scenario("points: gap, first"), scenario("points: gap, second") }
