"""Writes the CNNs used by the training benchmarks and the distillation experiment
(opset 17, batch dim symbolic, He-initialized weights, seeded):

  bench_cnn.onnx    conv3x3(32)-relu-maxpool-conv3x3(64)-relu-maxpool-fc(10) on 1x28x28
                    (the model the burn/candle training throughput was measured on)
  teacher_cnn.onnx  conv(32)-bn-relu-conv(32)-bn-relu-pool-conv(64)-bn-relu-conv(64)-bn-relu-pool
                    -fc(128)-relu-dropout(0.3)-fc(10)
  student_cnn.onnx  conv(16)-bn-relu-pool-conv(32)-bn-relu-pool-fc(10)  (< 1/4 of the teacher's MACs)
  teacher3.onnx     conv(32)-bn-relu-pool-conv(64)-bn-relu-pool-conv(64)-bn-relu-pool-fc(128)-relu-fc(10)
                    (5.7 M MACs; the teacher of the distillation experiment)
  student8.onnx     conv(8)-bn-relu-pool-conv(16)-bn-relu-pool-fc(10)  (0.29 M MACs, 1/20 of teacher3)

usage: python make_models.py OUT_DIR [SEED]   (SEED: weight initialization, default 0)
"""
import sys, os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
nodes, inits = [], []


def init(name, arr):
    inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
    return name


def conv(x, cin, cout, name, pad=1, bias=True):
    fan = cin * 9
    w = init(name + ".w", rng.normal(0, np.sqrt(2.0 / fan), (cout, cin, 3, 3)))
    ins = [x, w] + ([init(name + ".b", np.zeros(cout))] if bias else [])
    nodes.append(helper.make_node("Conv", ins, [name], pads=[pad] * 4, kernel_shape=[3, 3]))
    return name


def bn(x, c, name):
    ins = [x, init(name + ".s", np.ones(c)), init(name + ".b", np.zeros(c)),
           init(name + ".mean", np.zeros(c)), init(name + ".var", np.ones(c))]
    nodes.append(helper.make_node("BatchNormalization", ins, [name], momentum=0.9))
    return name


def op(t, x, name, **kw):
    nodes.append(helper.make_node(t, x if isinstance(x, list) else [x], [name], **kw))
    return name


def fc(x, fin, fout, name):
    w = init(name + ".w", rng.normal(0, np.sqrt(2.0 / fin), (fout, fin)))
    b = init(name + ".b", np.zeros(fout))
    return op("Gemm", [x, w, b], name, transB=1)


def save(path, out):
    global nodes, inits
    g = helper.make_graph(nodes, os.path.basename(path)[:-5],
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, path)
    nodes, inits = [], []


out = sys.argv[1]
os.makedirs(out, exist_ok=True)

x = conv("x", 1, 32, "c1", pad=0)
x = op("Relu", x, "r1")
x = op("MaxPool", x, "p1", kernel_shape=[2, 2], strides=[2, 2])
x = conv(x, 32, 64, "c2", pad=0)
x = op("Relu", x, "r2")
x = op("MaxPool", x, "p2", kernel_shape=[2, 2], strides=[2, 2])
x = op("Flatten", x, "f")
save(f"{out}/bench_cnn.onnx", fc(x, 64 * 5 * 5, 10, "fc"))

x = "x"
for i, (cin, cout) in enumerate([(1, 32), (32, 32)]):
    x = op("Relu", bn(conv(x, cin, cout, f"a{i}", bias=False), cout, f"abn{i}"), f"ar{i}")
x = op("MaxPool", x, "ap", kernel_shape=[2, 2], strides=[2, 2])
for i, (cin, cout) in enumerate([(32, 64), (64, 64)]):
    x = op("Relu", bn(conv(x, cin, cout, f"b{i}", bias=False), cout, f"bbn{i}"), f"br{i}")
x = op("MaxPool", x, "bp", kernel_shape=[2, 2], strides=[2, 2])
x = op("Flatten", x, "f")
x = op("Relu", fc(x, 64 * 7 * 7, 128, "fc1"), "fr")
nodes.append(helper.make_node("Dropout", [x, init("drop.ratio", np.array(0.3))], ["d"]))
save(f"{out}/teacher_cnn.onnx", fc("d", 128, 10, "fc2"))

x = op("Relu", bn(conv("x", 1, 16, "s1", bias=False), 16, "sbn1"), "sr1")
x = op("MaxPool", x, "sp1", kernel_shape=[2, 2], strides=[2, 2])
x = op("Relu", bn(conv(x, 16, 32, "s2", bias=False), 32, "sbn2"), "sr2")
x = op("MaxPool", x, "sp2", kernel_shape=[2, 2], strides=[2, 2])
x = op("Flatten", x, "f")
save(f"{out}/student_cnn.onnx", fc(x, 32 * 7 * 7, 10, "fc"))
x = "x"
for i, (cin, cout) in enumerate([(1, 32), (32, 64), (64, 64)]):
    x = op("Relu", bn(conv(x, cin, cout, f"t{i}", bias=False), cout, f"tbn{i}"), f"tr{i}")
    x = op("MaxPool", x, f"tp{i}", kernel_shape=[2, 2], strides=[2, 2])
x = op("Flatten", x, "f")
x = op("Relu", fc(x, 64 * 3 * 3, 128, "fc1"), "fr")
save(f"{out}/teacher3.onnx", fc(x, 128, 10, "fc2"))

x = op("Relu", bn(conv("x", 1, 8, "s1", bias=False), 8, "sbn1"), "sr1")
x = op("MaxPool", x, "sp1", kernel_shape=[2, 2], strides=[2, 2])
x = op("Relu", bn(conv(x, 8, 16, "s2", bias=False), 16, "sbn2"), "sr2")
x = op("MaxPool", x, "sp2", kernel_shape=[2, 2], strides=[2, 2])
x = op("Flatten", x, "f")
save(f"{out}/student8.onnx", fc(x, 16 * 7 * 7, 10, "fc"))
print("wrote", out)
