"""Checks on ONNX programs shared by tests."""
import onnx

from hw_targets.onnx_int import all_nodes

FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}


def float_ops(model: onnx.ModelProto) -> list[str]:
    """Nodes (in the main graph and in Loop bodies) that read or write a float tensor, except the input
    quantization that consumes the graph input ``x`` (and ``Shape(x)``, which reads only its dimensions)."""
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    types = {}

    def collect(g):
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            types[vi.name] = vi.type.tensor_type.elem_type
        for init in g.initializer:
            types[init.name] = init.data_type
        for node in g.node:
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    collect(a.g)

    collect(inferred.graph)
    bad = []
    for node in all_nodes(inferred.graph):
        names = [n for n in list(node.input) + list(node.output) if n]
        missing = [n for n in names if n not in types]
        assert not missing, f"{node.op_type}: no inferred type for {missing}"
        if any(types[n] in FLOAT_TYPES for n in names):
            is_input_quant = list(node.input[:1]) == ["x"] and node.op_type in ("QuantizeLinear", "Cast", "Shape")
            if not is_input_quant:
                bad.append(f"{node.op_type}({', '.join(names)})")
    return bad
