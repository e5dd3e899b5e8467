file(REMOVE_RECURSE
  "libustack.a"
)
