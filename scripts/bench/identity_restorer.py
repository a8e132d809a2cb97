#!/usr/bin/env python3
"""Writes an ONNX "restorer" with GFPGAN 1.4's interface that returns its input: `input` float32
[1,3,512,512] -> `output` float32 [1,3,512,512]. Through `--enhancer-model` it lets the real CLI path
measure what the temporal cache itself costs (re-warped faces vs fresh ones), free of the GFPGAN twin's
random-weight flicker; the library's EnhanceBenchmarkRun does the same with StandInModels.identity.

    PYTHONPATH=.deps/pylib python3 scripts/bench/identity_restorer.py /tmp/identity_restorer.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper

out = sys.argv[1] if len(sys.argv) > 1 else "identity_restorer.onnx"
x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 512, 512])
y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 512, 512])
graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "identity_restorer", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, out)
print(out)
