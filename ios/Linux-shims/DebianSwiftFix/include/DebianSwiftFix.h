// See fatal.c: nothing to call, the target only supplies a symbol the linker needs.
