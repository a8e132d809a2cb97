#!/usr/bin/env python3
"""GFLOP of one run of an ONNX graph: 2 x the multiply-accumulates of every Conv, ConvTranspose, Gemm and
MatMul, with shapes from onnx's shape inference. Works on the weight-stripped twin graphs
(shared/models/twins/*.graph.onnx), so no weights are needed.

    PYTHONPATH=.deps/pylib python3 scripts/reference/graph_flops.py ../shared/models/twins/GFPGANv1.4_twin.graph.onnx
"""
import sys

import numpy as np
import onnx
from onnx import shape_inference


def dims(value_info):
    return [d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main(path):
    model = shape_inference.infer_shapes(onnx.load(path, load_external_data=False))
    g = model.graph
    shapes = {v.name: dims(v) for v in list(g.value_info) + list(g.input) + list(g.output)}
    shapes.update({t.name: list(t.dims) for t in g.initializer})
    macs, counted, unknown = 0, {}, []
    for n in g.node:
        if n.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            continue
        out = shapes.get(n.output[0])
        w = shapes.get(n.input[1])
        if not out or not w or 0 in out:
            unknown.append(n.name)
            continue
        if n.op_type in ("Conv", "ConvTranspose"):
            # Conv: every output element sums (C_in / group) x kH x kW products (= the weight's dims 1...).
            # ConvTranspose: every input element scatters into (C_out / group) x kH x kW outputs.
            first = out if n.op_type == "Conv" else shapes[n.input[0]]
            m = int(np.prod(first)) * int(np.prod(w[1:]))
        elif n.op_type == "Gemm":
            trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
            k = w[1] if trans_b else w[0]
            m = int(np.prod(out)) * k
        else:
            m = int(np.prod(out)) * shapes[n.input[0]][-1]
        macs += m
        counted[n.op_type] = counted.get(n.op_type, 0) + 1
    print(f"{path}: {macs / 1e9:.2f} GMAC = {2 * macs / 1e9:.1f} GFLOP over {counted}" +
          (f"; {len(unknown)} nodes without inferred shapes: {unknown[:5]}" if unknown else ""))


if __name__ == "__main__":
    main(sys.argv[1])
