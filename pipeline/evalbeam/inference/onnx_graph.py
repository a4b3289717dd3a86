"""The few parts of an ONNX model file that evalbeam reads or edits, without the onnx package
(whose import takes seconds, in every worker process): the graph's nodes (their inputs,
outputs, op type and class-label attributes) and its outputs. The messages are declared here
with ONNX's field numbers (onnx.proto, proto2); every other field of the file is kept as it is
read, so a model written back differs only where it was edited.
"""
from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

_SCHEMA = """
name: "evalbeam/onnx_subset.proto" package: "evalbeam_onnx" syntax: "proto2"
message_type { name: "Model"
  field { name: "graph" number: 7 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: "Graph" } }
message_type { name: "Graph"
  field { name: "node" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: "Node" }
  field { name: "output" number: 12 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: "Value" } }
message_type { name: "Node"
  field { name: "input" number: 1 label: LABEL_REPEATED type: TYPE_STRING }
  field { name: "output" number: 2 label: LABEL_REPEATED type: TYPE_STRING }
  field { name: "op_type" number: 4 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "attribute" number: 5 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: "Attribute" } }
message_type { name: "Attribute"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "ints" number: 8 label: LABEL_REPEATED type: TYPE_INT64 }
  field { name: "strings" number: 9 label: LABEL_REPEATED type: TYPE_BYTES } }
message_type { name: "Value"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "type" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: "Type" } }
message_type { name: "Type"
  field { name: "tensor_type" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: "Tensor" } }
message_type { name: "Tensor"
  field { name: "elem_type" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "shape" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: "Shape" } }
message_type { name: "Shape"
  field { name: "dim" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: "Dim" } }
message_type { name: "Dim"
  field { name: "dim_value" number: 1 label: LABEL_OPTIONAL type: TYPE_INT64 }
  field { name: "dim_param" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING } }
"""
_FLOAT = 1  # TensorProto.FLOAT
_LABELS = ("classlabels_ints", "classlabels_int64s", "classlabels_strings")
_Model = None


def _model_class():
    global _Model
    if _Model is None:
        pool = descriptor_pool.DescriptorPool()
        pool.Add(text_format.Parse(_SCHEMA, descriptor_pb2.FileDescriptorProto()))
        _Model = message_factory.GetMessageClass(pool.FindMessageTypeByName("evalbeam_onnx.Model"))
    return _Model


def parse(model_bytes: bytes):
    model = _model_class()()
    model.ParseFromString(model_bytes)
    return model


def class_labels(model) -> list:
    """Every class-label list the graph's nodes record (ONNX-ML classifiers, ZipMap), as lists
    of ints or strings."""
    return [list(a.ints) if a.ints else [s.decode() for s in a.strings]
            for node in model.graph.node for a in node.attribute if a.name in _LABELS]


def without_zipmap(model, output: str):
    """Remove from ``model`` the ZipMap node that makes the graph output ``output`` (a sequence
    of maps) and make its input, the [N, C] float tensor of class scores, a graph output in its
    place. Returns (that tensor's name, C), or None when no ZipMap makes ``output``."""
    graph = model.graph
    zipmap = next((n for n in graph.node if n.op_type == "ZipMap" and output in n.output), None)
    if zipmap is None:
        return None
    labels = next((a for a in zipmap.attribute if a.name in _LABELS), None)
    n_classes = len(labels.ints) or len(labels.strings) if labels is not None else 0
    scores = zipmap.input[0]
    graph.node.remove(zipmap)
    kept = [o for o in graph.output if o.name != output]
    del graph.output[:]
    graph.output.extend(kept)
    if scores not in [o.name for o in kept]:
        value = graph.output.add(name=scores)
        value.type.tensor_type.elem_type = _FLOAT
        value.type.tensor_type.shape.dim.add(dim_param="N")
        value.type.tensor_type.shape.dim.add(**({"dim_value": n_classes} if n_classes else {}))
    return scores, n_classes
