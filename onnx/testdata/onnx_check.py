"""Checks ONNX files against the ONNX specification, for the onnx package's
tests: the checker with full_check (which runs shape inference) and strict
shape inference, then prints each file's outputs and their inferred shapes,
one line per file:

    /usr/bin/python3 onnx_check.py FILE.onnx... 

Needs the onnx Python package (Debian's python3-onnx, ONNX 1.12).
"""
import sys

import onnx


def main(paths):
    for path in paths:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        outs = []
        for o in inferred.graph.output:
            dims = [d.dim_param or str(d.dim_value) for d in o.type.tensor_type.shape.dim]
            outs.append("%s[%s]" % (o.name, ",".join(dims)))
        print(path, " ".join(outs))


if __name__ == "__main__":
    main(sys.argv[1:])
