-- A scenario file that does not parse: line 5 is broken.
return {
  name = "error: syntax",
  run = function(t)
    local = 3
  end,
}
