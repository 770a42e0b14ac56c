-- A scenario with a configuration mistake: cmd is a string, not a list.
return {
  name = "error: config",
  target = { cmd = "build/tests/targets/tgt" },
  run = function(t) end,
}
