// Debian 13's swiftlang 6.0.3 ships a libswiftObservation.so that calls
// swift::threading::fatal(const char*, ...), which its libswiftCore.so does not export, so
// any binary using Observation fails to link on Linux. This defines that one function (what
// the runtime's own does: print and abort) under its C++ name. Linked on Linux only
// (Package.swift); Apple platforms and other Swift builds never see it.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void jobpack_swift_threading_fatal(const char *format, ...) __asm__("_ZN5swift9threading5fatalEPKcz");

void jobpack_swift_threading_fatal(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    abort();
}
