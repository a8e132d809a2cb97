// Intentionally empty: CONNXRuntime is a header-only bridge; SwiftPM needs one source file.
#include "CONNXRuntime.h"
