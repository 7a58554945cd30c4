//! ONNX Runtime as the oracle of opset conversion: opset-11/12 models (written by onnx's own
//! helper, plus the PP-OCR det/cls/rec models when rapidocr-onnxruntime is installed) are
//! upgraded to 13 by edgeopt, and ORT's outputs on the converted file equal those on the
//! original within 1e-5 (relative to the output's largest magnitude, at least 1).
//! Python comes from `EDGEOPT_PYTHON` (default `python3`); without onnx/onnxruntime/numpy the
//! test prints why and passes without checking.

use std::path::Path;
use std::process::Command;

fn python() -> Option<String> {
    let py = std::env::var("EDGEOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import onnx, onnxruntime, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping: {py} has no onnx/onnxruntime/numpy (set EDGEOPT_PYTHON)");
    }
    ok.then_some(py)
}

/// Writes `<name>.onnx` models at opsets 11/12 exercising every conversion rule, and links the
/// PP-OCR models when available. Prints one `name shape` line per model.
const MAKE: &str = r#"
import sys, os, onnx, numpy as np, importlib.util as u
from onnx import helper as h, TensorProto as T
d = sys.argv[1]
def save(name, nodes, x_shape, outs, opset, inits=()):
    g = h.make_graph(nodes, name, [h.make_tensor_value_info('x', T.FLOAT, x_shape)],
                     [h.make_tensor_value_info(o, T.FLOAT, None) for o in outs], list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)])
    m.ir_version = 7
    onnx.save(m, os.path.join(d, name + '.onnx'))
    print(name, 'x=' + 'x'.join(map(str, x_shape)))
save('squeeze', [h.make_node('Squeeze', ['x'], ['s'], axes=[1]),
                 h.make_node('Unsqueeze', ['s'], ['y'], axes=[0, -1])], [2, 1, 5], ['y'], 11)
save('reduce', [h.make_node('ReduceSum', ['x'], ['s'], axes=[1], keepdims=0),
                h.make_node('ReduceMean', ['x'], ['m'], axes=[-1]),
                h.make_node('ReduceMax', ['x'], ['a'])], [2, 3, 4], ['s', 'm', 'a'], 12)
save('split', [h.make_node('Split', ['x'], ['a', 'b'], axis=1, split=[2, 4]),
               h.make_node('Split', ['b'], ['c', 'd'], axis=1)], [3, 6], ['a', 'c', 'd'], 11)
save('softmax', [h.make_node('Softmax', ['x'], ['a']),
                 h.make_node('LogSoftmax', ['x'], ['b'], axis=2),
                 h.make_node('Softmax', ['x'], ['c'], axis=-1),
                 h.make_node('Hardmax', ['x'], ['e'], axis=1)], [2, 3, 4], ['a', 'b', 'c', 'e'], 11)
w = h.make_tensor('w', T.FLOAT, [4, 3, 3, 3], np.random.RandomState(0).randn(108).astype(np.float32))
save('cnn', [h.make_node('Conv', ['x', 'w'], ['c'], pads=[1, 1, 1, 1]),
             h.make_node('Clip', ['c', 'lo', 'hi'], ['r']),
             h.make_node('HardSigmoid', ['r'], ['hs']),
             h.make_node('Mul', ['r', 'hs'], ['m']),
             h.make_node('Resize', ['m', 'roi', 'scales'], ['up'], mode='nearest'),
             h.make_node('Dropout', ['up'], ['y'], ratio=0.3)], [1, 3, 8, 8], ['y'], 11,
     [w, h.make_tensor('lo', T.FLOAT, [], [0.0]), h.make_tensor('hi', T.FLOAT, [], [6.0]),
      h.make_tensor('roi', T.FLOAT, [0], []), h.make_tensor('scales', T.FLOAT, [4], [1, 1, 2, 2])])
spec = u.find_spec('rapidocr_onnxruntime')
if spec:
    md = os.path.join(spec.submodule_search_locations[0], 'models')
    for f, s in [('ch_ppocr_mobile_v2.0_cls_infer', 'x=1x3x48x192'),
                 ('ch_PP-OCRv4_det_infer', 'x=1x3x320x320'),
                 ('ch_PP-OCRv4_rec_infer', 'x=1x3x48x320')]:
        p = os.path.join(md, f + '.onnx')
        if os.path.exists(p):
            os.symlink(p, os.path.join(d, f + '.onnx'))
            print(f, s)
"#;

/// Runs `a.onnx` and `b.onnx` in ORT on seeded inputs of `shape`; prints the worst error.
const COMPARE: &str = r#"
import sys, numpy as np, onnxruntime as ort
a, b, shape = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3].split('=')[1].split('x')]
so = ort.SessionOptions(); so.log_severity_level = 3
sa = ort.InferenceSession(a, so, providers=['CPUExecutionProvider'])
sb = ort.InferenceSession(b, so, providers=['CPUExecutionProvider'])
worst = 0.0
for seed in range(2):
    x = np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)
    for ya, yb in zip(sa.run(None, {'x': x}), sb.run(None, {'x': x})):
        assert ya.shape == yb.shape, (ya.shape, yb.shape)
        err = float(np.abs(ya.astype(np.float64) - yb).max()) / max(1.0, float(np.abs(ya).max()))
        worst = max(worst, err)
print(worst)
"#;

#[test]
fn converted_models_match_the_originals_in_onnx_runtime() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&py)
        .args(["-c", MAKE, dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "making models: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    for line in list.lines() {
        let (name, shape) = line.split_once(' ').unwrap();
        let src = dir.path().join(format!("{name}.onnx"));
        let dst = dir.path().join(format!("{name}.v13.onnx"));
        let mut m = edgeopt_onnx::load_model(&src, &Default::default()).unwrap();
        let from = m.opset();
        assert!(from < 13, "{name} is already opset {from}");
        let r = edgeopt_onnx::upgrade_opset(&mut m, 13).unwrap_or_else(|e| panic!("{name}: {e}"));
        edgeopt_onnx::save_model(&m, &dst, &Default::default()).unwrap();
        let err = ort_compare(&py, &src, &dst, shape);
        eprintln!(
            "{name}: opset {from} -> 13, {} nodes rewritten, {} rebuilt, ORT max rel error {err:.2e}",
            r.rewritten.len(),
            r.rebuilt
        );
        assert!(err <= 1e-5, "{name}: ORT outputs differ by {err}");
        checked += 1;
    }
    assert!(checked >= 5);
}

fn ort_compare(py: &str, a: &Path, b: &Path, shape: &str) -> f64 {
    let out = Command::new(py)
        .args([
            "-c",
            COMPARE,
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            shape,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ORT on {}: {}",
        b.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
