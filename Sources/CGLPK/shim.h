// GLPK 5 (libglpk-dev, GPL-3.0). Debian ships no pkg-config file for it, so the module map links
// `glpk` and this header pulls in /usr/include/glpk.h. Only SpacerSolvers imports this module.
#include <glpk.h>
