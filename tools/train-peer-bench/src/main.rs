//! `train-peer-bench ENGINE STEPS`: times STEPS training steps (after 2 warm-up steps) of
//! conv3x3(32)-relu-maxpool-conv3x3(64)-relu-maxpool-fc(10) on 28x28 inputs at batch 64,
//! cross-entropy, SGD lr 0.01, on one fixed batch of seeded noise; ENGINE is `burn` (flex CPU
//! backend) or `candle`. Threads: RAYON_NUM_THREADS (both peers size their pools from it).
//! Prints `ENGINE steps/s` the same way edgeopt's `train_bench` does.

use std::time::Instant;

const BATCH: usize = 64;

/// Seeded inputs in [0, 1) and labels 0..9 (throughput does not depend on the values).
fn batch() -> (Vec<f32>, Vec<u32>) {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let x = (0..BATCH * 784)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect();
    let y = (0..BATCH as u32).map(|i| i % 10).collect();
    (x, y)
}

fn report(engine: &str, steps: usize, f: &mut dyn FnMut() -> f32) {
    for _ in 0..2 {
        f();
    }
    let start = Instant::now();
    let mut loss = 0.0;
    for _ in 0..steps {
        loss = f();
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "{engine}: {steps} steps at batch {BATCH}: {s:.3} s, {:.2} steps/s (last loss {loss:.4})",
        steps as f64 / s
    );
}

#[cfg(feature = "candle")]
mod candle_peer {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::{Conv2d, Linear, Module, Optimizer, VarBuilder, VarMap};

    struct Net {
        c1: Conv2d,
        c2: Conv2d,
        fc: Linear,
    }

    impl Net {
        fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
            let x = self.c1.forward(x)?.relu()?.max_pool2d(2)?;
            let x = self.c2.forward(&x)?.relu()?.max_pool2d(2)?;
            self.fc.forward(&x.flatten_from(1)?)
        }
    }

    pub fn run(steps: usize) -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let vars = VarMap::new();
        let vb = VarBuilder::from_varmap(&vars, DType::F32, &dev);
        let cfg = Default::default();
        let net = Net {
            c1: candle_nn::conv2d(1, 32, 3, cfg, vb.pp("c1"))?,
            c2: candle_nn::conv2d(32, 64, 3, cfg, vb.pp("c2"))?,
            fc: candle_nn::linear(64 * 5 * 5, 10, vb.pp("fc"))?,
        };
        // candle-nn's SGD has no momentum; the update is a negligible part of a step.
        let mut opt = candle_nn::SGD::new(vars.all_vars(), 0.01)?;
        let (x, y) = super::batch();
        let x = Tensor::from_vec(x, (super::BATCH, 1, 28, 28), &dev)?;
        let y = Tensor::from_vec(y, super::BATCH, &dev)?;
        let mut err = None;
        super::report("candle", steps, &mut || {
            let mut step = || -> candle_core::Result<f32> {
                let loss = candle_nn::loss::cross_entropy(&net.forward(&x)?, &y)?;
                opt.backward_step(&loss)?;
                loss.to_scalar::<f32>()
            };
            step().unwrap_or_else(|e| {
                err = Some(e);
                f32::NAN
            })
        });
        err.map_or(Ok(()), Err)
    }
}

#[cfg(feature = "burn")]
mod burn_peer {
    use burn::module::Module;
    use burn::nn::conv::{Conv2d, Conv2dConfig};
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
    use burn::nn::{Linear, LinearConfig, Relu};
    use burn::optim::momentum::MomentumConfig;
    use burn::optim::{GradientsParams, SgdConfig};
    use burn::tensor::{Device, Int, Tensor, TensorData};

    #[derive(Module, Debug)]
    struct Net {
        c1: Conv2d,
        c2: Conv2d,
        pool: MaxPool2d,
        fc: Linear,
        act: Relu,
    }

    impl Net {
        fn new(device: &Device) -> Net {
            Net {
                c1: Conv2dConfig::new([1, 32], [3, 3]).init(device),
                c2: Conv2dConfig::new([32, 64], [3, 3]).init(device),
                pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
                fc: LinearConfig::new(64 * 5 * 5, 10).init(device),
                act: Relu::new(),
            }
        }

        fn forward(&self, x: Tensor<4>) -> Tensor<2> {
            let x = self.pool.forward(self.act.forward(self.c1.forward(x)));
            let x = self.pool.forward(self.act.forward(self.c2.forward(x)));
            self.fc.forward(x.flatten(1, 3))
        }
    }

    pub fn run(steps: usize) {
        let device = Device::flex().autodiff();
        let mut model = Some(Net::new(&device));
        let mut optim = SgdConfig::new()
            .with_momentum(Some(MomentumConfig::new().with_momentum(0.9)))
            .init();
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        let (x, y) = super::batch();
        let x = Tensor::<4>::from_data(TensorData::new(x, [super::BATCH, 1, 28, 28]), &device);
        let y: Vec<i64> = y.into_iter().map(i64::from).collect();
        let y = Tensor::<1, Int>::from_data(TensorData::new(y, [super::BATCH]), &device);
        super::report("burn", steps, &mut || {
            let m = model.take().expect("the model is put back every step");
            let loss = loss_fn.forward(m.forward(x.clone()), y.clone());
            let value: f32 = loss.clone().into_scalar();
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            model = Some(optim.step(0.01, m, grads));
            value
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = args.get(1).map(String::as_str).unwrap_or("");
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    match engine {
        #[cfg(feature = "burn")]
        "burn" => burn_peer::run(steps),
        #[cfg(feature = "candle")]
        "candle" => {
            if let Err(e) = candle_peer::run(steps) {
                eprintln!("candle: {e}");
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: train-peer-bench burn|candle [STEPS]");
            std::process::exit(2);
        }
    }
}
