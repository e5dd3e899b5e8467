file(REMOVE_RECURSE
  "CMakeFiles/ustack-runner.dir/apps/ustack.c.o"
  "CMakeFiles/ustack-runner.dir/apps/ustack.c.o.d"
  "bin/ustack"
  "bin/ustack.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/ustack-runner.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
