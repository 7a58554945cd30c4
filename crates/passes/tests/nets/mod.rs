//! MobileNetV2, ResNet-18, the MLP and the MNIST CNN of `shared/bench/make_models.py`, built in
//! Rust with the same structure (Conv without bias + BatchNormalization + Relu / Clip(0, 6),
//! residual Adds, GlobalAveragePool, Flatten, Gemm with transB) and seeded pseudo-random
//! weights (He-uniform), at any input size. Tests build them instead of reading generated
//! files, so they never depend on a script having run.

use edgeopt_ir::{Attribute, Model};
use edgeopt_passes::testing::{ints, random_vec, ModelBuilder};
use edgeopt_tensor::Tensor;

pub struct Net {
    b: ModelBuilder,
    n: usize,
}

impl Net {
    fn new(input: &[usize]) -> Net {
        let mut b = ModelBuilder::new(13);
        b.input("input", input);
        b.init("relu6.min", Tensor::scalar(0f32));
        b.init("relu6.max", Tensor::scalar(6f32));
        Net { b, n: 0 }
    }

    fn fresh(&mut self, p: &str) -> String {
        self.n += 1;
        format!("{p}_{}", self.n)
    }

    /// Uniform in [-bound, bound) times `scale`, plus `offset`.
    fn param(&mut self, name: &str, shape: &[usize], scale: f32, offset: f32) -> String {
        let n = shape.iter().product();
        let v: Vec<f32> = random_vec(n, self.n as u64 * 7919 + n as u64)
            .iter()
            .map(|x| x * scale + offset)
            .collect();
        self.b
            .init(name, Tensor::from_vec(shape.to_vec(), v).unwrap());
        name.to_string()
    }

    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        x: &str,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        groups: usize,
        bias: bool,
    ) -> String {
        let name = self.fresh("conv");
        let fan_in = (cin / groups * k * k) as f32;
        let w = self.param(
            &format!("{name}.w"),
            &[cout, cin / groups, k, k],
            (6.0 / fan_in).sqrt(),
            0.0,
        );
        let mut ins = vec![x.to_string(), w];
        if bias {
            ins.push(self.param(&format!("{name}.b"), &[cout], 1.0 / fan_in.sqrt(), 0.0));
        }
        let p = (k / 2) as i64;
        let s = stride as i64;
        let attrs = vec![
            ("kernel_shape", ints(&[k as i64, k as i64])),
            ("strides", ints(&[s, s])),
            ("pads", ints(&[p, p, p, p])),
            ("group", Attribute::Int(groups as i64)),
        ];
        let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
        self.b.node("Conv", &ins, &[&name], attrs);
        name
    }

    fn bn(&mut self, x: &str, c: usize) -> String {
        let name = self.fresh("bn");
        let ins = [
            x.to_string(),
            self.param(&format!("{name}.scale"), &[c], 0.2, 1.0),
            self.param(&format!("{name}.bias"), &[c], 0.1, 0.0),
            self.param(&format!("{name}.mean"), &[c], 0.1, 0.0),
            self.param(&format!("{name}.var"), &[c], 0.5, 1.0),
        ];
        let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
        self.b.node(
            "BatchNormalization",
            &ins,
            &[&name],
            vec![("epsilon", Attribute::Float(1e-5))],
        );
        name
    }

    fn op(&mut self, op: &str, ins: &[&str], attrs: Vec<(&str, Attribute)>) -> String {
        let name = self.fresh(&op.to_lowercase());
        self.b.node(op, ins, &[&name], attrs);
        name
    }

    fn act(&mut self, x: &str, act: &str) -> String {
        match act {
            "relu" => self.op("Relu", &[x], vec![]),
            "relu6" => self.op("Clip", &[x, "relu6.min", "relu6.max"], vec![]),
            _ => x.to_string(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn conv_bn(
        &mut self,
        x: &str,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        groups: usize,
        act: &str,
    ) -> String {
        let y = self.conv(x, cin, cout, k, stride, groups, false);
        let y = self.bn(&y, cout);
        self.act(&y, act)
    }

    fn linear(&mut self, x: &str, fin: usize, fout: usize) -> String {
        let name = self.fresh("fc");
        let w = self.param(
            &format!("{name}.w"),
            &[fout, fin],
            (3.0 / fin as f32).sqrt(),
            0.0,
        );
        let b = self.param(
            &format!("{name}.b"),
            &[fout],
            1.0 / (fin as f32).sqrt(),
            0.0,
        );
        self.b.node(
            "Gemm",
            &[x, &w, &b],
            &[&name],
            vec![("transB", Attribute::Int(1))],
        );
        name
    }

    fn finish(mut self, out: &str) -> Model {
        self.b.output(out);
        self.b.build()
    }
}

pub fn mobilenet_v2(input: &[usize]) -> Model {
    const SETTINGS: [(usize, usize, usize, usize); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut g = Net::new(input);
    let mut x = g.conv_bn("input", 3, 32, 3, 2, 1, "relu6");
    let mut cin = 32;
    for (t, c, n, s) in SETTINGS {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            let hidden = cin * t;
            let mut y = x.clone();
            if t != 1 {
                y = g.conv_bn(&y, cin, hidden, 1, 1, 1, "relu6");
            }
            y = g.conv_bn(&y, hidden, hidden, 3, stride, hidden, "relu6");
            y = g.conv_bn(&y, hidden, c, 1, 1, 1, "");
            x = if stride == 1 && cin == c {
                g.op("Add", &[&x, &y], vec![])
            } else {
                y
            };
            cin = c;
        }
    }
    x = g.conv_bn(&x, cin, 1280, 1, 1, 1, "relu6");
    let p = g.op("GlobalAveragePool", &[&x], vec![]);
    let f = g.op("Flatten", &[&p], vec![("axis", Attribute::Int(1))]);
    let out = g.linear(&f, 1280, 1000);
    g.finish(&out)
}

pub fn resnet18(input: &[usize]) -> Model {
    let mut g = Net::new(input);
    let x = g.conv_bn("input", 3, 64, 7, 2, 1, "relu");
    let mut x = g.op(
        "MaxPool",
        &[&x],
        vec![
            ("kernel_shape", ints(&[3, 3])),
            ("strides", ints(&[2, 2])),
            ("pads", ints(&[1, 1, 1, 1])),
        ],
    );
    let mut cin = 64;
    for (cout, first) in [(64, 1), (128, 2), (256, 2), (512, 2)] {
        for i in 0..2 {
            let stride = if i == 0 { first } else { 1 };
            let y = g.conv_bn(&x, cin, cout, 3, stride, 1, "relu");
            let y = g.conv(&y, cout, cout, 3, 1, 1, false);
            let y = g.bn(&y, cout);
            let mut shortcut = x.clone();
            if stride != 1 || cin != cout {
                shortcut = g.conv(&x, cin, cout, 1, stride, 1, false);
                shortcut = g.bn(&shortcut, cout);
            }
            let sum = g.op("Add", &[&y, &shortcut], vec![]);
            x = g.op("Relu", &[&sum], vec![]);
            cin = cout;
        }
    }
    let p = g.op("GlobalAveragePool", &[&x], vec![]);
    let f = g.op("Flatten", &[&p], vec![("axis", Attribute::Int(1))]);
    let out = g.linear(&f, 512, 1000);
    g.finish(&out)
}

pub fn mlp() -> Model {
    let mut g = Net::new(&[1, 784]);
    let x = g.linear("input", 784, 512);
    let x = g.act(&x, "relu");
    let x = g.linear(&x, 512, 256);
    let x = g.act(&x, "relu");
    let out = g.linear(&x, 256, 10);
    g.finish(&out)
}

pub fn mnist_cnn() -> Model {
    let mut g = Net::new(&[1, 1, 28, 28]);
    let pool = vec![("kernel_shape", ints(&[2, 2])), ("strides", ints(&[2, 2]))];
    let x = g.conv("input", 1, 32, 3, 1, 1, true);
    let x = g.act(&x, "relu");
    let x = g.op("MaxPool", &[&x], pool.clone());
    let x = g.conv(&x, 32, 64, 3, 1, 1, true);
    let x = g.act(&x, "relu");
    let x = g.op("MaxPool", &[&x], pool);
    let x = g.op("Flatten", &[&x], vec![("axis", Attribute::Int(1))]);
    let x = g.linear(&x, 64 * 7 * 7, 128);
    let x = g.act(&x, "relu");
    let out = g.linear(&x, 128, 10);
    g.finish(&out)
}
