//! `mobilenetv2` (Sandler et al. 2018, torchvision's layout): a stride-2 3x3 stem, inverted
//! residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear projection; residual Add when the
//! stride is 1 and channels match), a 1x1 conv to 1280 channels, global average pooling and a
//! classifier. ReLU6 is `Clip(0, 6)`. Width multiplier alpha scales channels, rounded to
//! multiples of 8; the depth multiplier scales each stage's repeats (rounded up).

use crate::builder::NetBuilder;
use crate::{metadata, Result, Spec, ZooError};
use edgeopt_ir::{Model, ValueId};

/// torchvision's `_make_divisible`: the nearest multiple of `divisor` (at least `divisor`) that
/// is not more than 10% below `v`.
pub fn make_divisible(v: f32, divisor: usize) -> usize {
    let d = divisor as f32;
    let mut new_v = (divisor).max(((v + d / 2.0) / d) as usize * divisor);
    if (new_v as f32) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// Expansion t, channels c, repeats n, first stride s (the paper's table 2).
const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

fn conv_bn_relu6(
    b: &mut NetBuilder,
    x: ValueId,
    name: &str,
    (cin, cout): (usize, usize),
    (k, stride, groups): (usize, usize, usize),
) -> Result<ValueId> {
    let y = b.conv(
        x,
        &format!("{name}.0"),
        cin,
        cout,
        k,
        stride,
        k / 2,
        groups,
        false,
    )?;
    let y = b.batch_norm(y, &format!("{name}.1"), cout)?;
    b.relu6(y, &format!("{name}.2"))
}

fn inverted_residual(
    b: &mut NetBuilder,
    x: ValueId,
    name: &str,
    (cin, cout, stride, t): (usize, usize, usize, usize),
) -> Result<ValueId> {
    let hidden = cin * t;
    let mut y = x;
    let mut layer = 0;
    if t != 1 {
        y = conv_bn_relu6(
            b,
            y,
            &format!("{name}.conv.{layer}"),
            (cin, hidden),
            (1, 1, 1),
        )?;
        layer += 1;
    }
    y = conv_bn_relu6(
        b,
        y,
        &format!("{name}.conv.{layer}"),
        (hidden, hidden),
        (3, stride, hidden),
    )?;
    y = b.conv(
        y,
        &format!("{name}.conv.{}", layer + 1),
        hidden,
        cout,
        1,
        1,
        0,
        1,
        false,
    )?;
    y = b.batch_norm(y, &format!("{name}.conv.{}", layer + 2), cout)?;
    if stride == 1 && cin == cout {
        y = b.add(x, y, &format!("{name}.add"))?;
    }
    Ok(y)
}

pub(crate) fn build(spec: &Spec) -> Result<Model> {
    let alpha = spec.width;
    if !(0.1..=2.0).contains(&alpha) {
        return Err(ZooError::Invalid(format!(
            "mobilenetv2 width (alpha) {alpha} is not in [0.1, 2] (standard: 0.35, 0.5, 0.75, 1.0, 1.3, 1.4)"
        )));
    }
    let [c, h, w] = spec.chw;
    if h < 32 || w < 32 {
        return Err(ZooError::Invalid(format!(
            "mobilenetv2 needs at least 32x32 inputs (5 stride-2 stages), got {h}x{w}"
        )));
    }
    let (mut b, x) = NetBuilder::new("mobilenetv2", &spec.chw, &spec.cfg.batch, spec.cfg.seed);
    let mut cin = make_divisible(32.0 * alpha, 8);
    let mut y = conv_bn_relu6(&mut b, x, "features.0", (c, cin), (3, 2, 1))?;
    let mut index = 1;
    for (t, ch, n, s) in SETTINGS {
        let cout = make_divisible(ch as f32 * alpha, 8);
        for i in 0..spec.repeats(n) {
            let stride = if i == 0 { s } else { 1 };
            y = inverted_residual(
                &mut b,
                y,
                &format!("features.{index}"),
                (cin, cout, stride, t),
            )?;
            cin = cout;
            index += 1;
        }
    }
    let last = make_divisible(1280.0 * alpha.max(1.0), 8);
    y = conv_bn_relu6(
        &mut b,
        y,
        &format!("features.{index}"),
        (cin, last),
        (1, 1, 1),
    )?;
    y = b.global_avg_pool(y, "avgpool")?;
    y = b.flatten(y, "flatten")?;
    let y = b.linear(y, "classifier.1", last, spec.classes)?;
    b.finish(y, metadata("mobilenetv2", spec))
}
