//! The activation functions of the recurrent ops and how their alpha / beta are read.

use crate::{bail, Result};

/// An activation function with its alpha / beta.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    Tanh,
    Sigmoid,
    Affine(f64, f64),
    LeakyRelu(f64),
    ThresholdedRelu(f64),
    ScaledTanh(f64, f64),
    HardSigmoid(f64, f64),
    Elu(f64),
    Softsign,
    Softplus,
}

impl Act {
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Act::Relu => x.max(0.0),
            Act::Tanh => x.tanh(),
            Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Act::Affine(a, b) => a * x + b,
            Act::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x
                }
            }
            Act::ThresholdedRelu(a) => {
                if x > a {
                    x
                } else {
                    0.0
                }
            }
            Act::ScaledTanh(a, b) => a * (b * x).tanh(),
            Act::HardSigmoid(a, b) => (a * x + b).clamp(0.0, 1.0),
            Act::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x.exp_m1()
                }
            }
            Act::Softsign => x / (1.0 + x.abs()),
            Act::Softplus => {
                if x > 30.0 {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
        }
    }
}

/// Builds the activations named in `names`, consuming `alphas` / `betas` in order by the
/// functions that take them (as onnxruntime does); missing values take the ONNX op defaults.
pub fn parse_acts(op: &str, names: &[String], alphas: &[f32], betas: &[f32]) -> Result<Vec<Act>> {
    let (mut ai, mut bi) = (alphas.iter(), betas.iter());
    let mut a = |d: f64| ai.next().map(|&v| v as f64).unwrap_or(d);
    let mut b = |d: f64| bi.next().map(|&v| v as f64).unwrap_or(d);
    names
        .iter()
        .map(|n| {
            Ok(match n.to_ascii_lowercase().as_str() {
                "relu" => Act::Relu,
                "tanh" => Act::Tanh,
                "sigmoid" => Act::Sigmoid,
                "affine" => Act::Affine(a(1.0), b(0.0)),
                "leakyrelu" => Act::LeakyRelu(a(0.01)),
                "thresholdedrelu" => Act::ThresholdedRelu(a(1.0)),
                "scaledtanh" => Act::ScaledTanh(a(1.0), b(1.0)),
                "hardsigmoid" => Act::HardSigmoid(a(0.2), b(0.5)),
                "elu" => Act::Elu(a(1.0)),
                "softsign" => Act::Softsign,
                "softplus" => Act::Softplus,
                _ => bail!("{op}: unknown activation '{n}'"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_consume_alpha_in_order() {
        let names: Vec<String> = ["LeakyRelu", "Tanh", "HardSigmoid"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let acts = parse_acts("T", &names, &[0.5, 0.3], &[0.1]).unwrap();
        assert_eq!(
            acts,
            vec![
                Act::LeakyRelu(0.5),
                Act::Tanh,
                Act::HardSigmoid(0.30000001192092896, 0.10000000149011612)
            ]
        );
        assert!(parse_acts("T", &["Foo".to_string()], &[], &[]).is_err());
        assert_eq!(Act::Sigmoid.apply(0.0), 0.5);
    }
}
