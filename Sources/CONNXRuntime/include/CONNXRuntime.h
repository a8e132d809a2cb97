// The ONNX Runtime C API, seen from Swift. Only the header is used at build time:
// the library itself is opened with dlopen at run time (see VisageRuntime/ORTLibrary.swift),
// so nothing here links against onnxruntime.
#ifndef CONNXRUNTIME_H
#define CONNXRUNTIME_H

#if __has_include("onnxruntime_c_api.h")  // git-ignored link to .deps/include, made by scripts/setup.sh
#include "onnxruntime_c_api.h"
#elif __has_include(<onnxruntime_c_api.h>)
#include <onnxruntime_c_api.h>
#elif __has_include(<onnxruntime/onnxruntime_c_api.h>)
#include <onnxruntime/onnxruntime_c_api.h>
#elif __has_include(<onnxruntime/core/session/onnxruntime_c_api.h>)
#include <onnxruntime/core/session/onnxruntime_c_api.h>
#else
#error "onnxruntime_c_api.h not found: run `make setup` (it puts the header in .deps/include) or install libonnxruntime-dev / brew install onnxruntime"
#endif

/// The API version this build was compiled against (ORT_API_VERSION of the header).
static inline unsigned int CONNXRuntime_apiVersion(void) { return ORT_API_VERSION; }

/// Signature of the library's single exported entry point, `OrtGetApiBase`.
typedef const OrtApiBase *(*CONNXRuntime_GetApiBaseFn)(void);

#endif
