CMakeFiles/ustack-runner.dir/apps/ustack.c.o: /work/main/apps/ustack.c \
 /usr/include/stdc-predef.h
