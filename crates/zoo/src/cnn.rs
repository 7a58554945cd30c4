//! Small plain CNNs: `lenet` (LeNet-5 style, ReLU and max pooling) and `cnn` (the training
//! throughput benchmark model).

use crate::builder::NetBuilder;
use crate::{metadata, window_out, Result, Spec};
use edgeopt_ir::Model;

/// conv3x3(32)-relu-maxpool2-conv3x3(64)-relu-maxpool2-fc(classes); convs have padding 1 and
/// bias; channel counts scale with `width`.
pub(crate) fn cnn(spec: &Spec) -> Result<Model> {
    let [c, mut h, mut w] = spec.chw;
    let (mut b, x) = NetBuilder::new("cnn", &spec.chw, &spec.cfg.batch, spec.cfg.seed);
    let mut y = x;
    let mut cin = c;
    for (i, base) in [32, 64].into_iter().enumerate() {
        let cout = spec.channels(base);
        let n = i + 1;
        y = b.conv(y, &format!("conv{n}"), cin, cout, 3, 1, 1, 1, true)?;
        y = b.relu(y, &format!("relu{n}"))?;
        y = b.max_pool(y, &format!("pool{n}"), 2, 2)?;
        h = window_out("cnn pool", h, 2, 2, 0)?;
        w = window_out("cnn pool", w, 2, 2, 0)?;
        cin = cout;
    }
    let y = b.flatten(y, "flatten")?;
    let y = b.linear(y, "fc", cin * h * w, spec.classes)?;
    b.finish(y, metadata("cnn", spec))
}

/// LeNet-5 style: conv5x5(6, pad 2)-relu-maxpool2-conv5x5(16)-relu-maxpool2-fc120-relu-fc84-
/// relu-fc(classes); widths scale with `width`.
pub(crate) fn lenet(spec: &Spec) -> Result<Model> {
    let [c, mut h, mut w] = spec.chw;
    let (mut b, x) = NetBuilder::new("lenet", &spec.chw, &spec.cfg.batch, spec.cfg.seed);
    let (c1, c2) = (spec.channels(6), spec.channels(16));
    let mut y = b.conv(x, "conv1", c, c1, 5, 1, 2, 1, true)?;
    y = b.relu(y, "relu1")?;
    y = b.max_pool(y, "pool1", 2, 2)?;
    h = window_out(
        "lenet pool1",
        window_out("lenet conv1", h, 5, 1, 2)?,
        2,
        2,
        0,
    )?;
    w = window_out(
        "lenet pool1",
        window_out("lenet conv1", w, 5, 1, 2)?,
        2,
        2,
        0,
    )?;
    y = b.conv(y, "conv2", c1, c2, 5, 1, 0, 1, true)?;
    y = b.relu(y, "relu2")?;
    y = b.max_pool(y, "pool2", 2, 2)?;
    h = window_out(
        "lenet pool2",
        window_out("lenet conv2", h, 5, 1, 0)?,
        2,
        2,
        0,
    )?;
    w = window_out(
        "lenet pool2",
        window_out("lenet conv2", w, 5, 1, 0)?,
        2,
        2,
        0,
    )?;
    y = b.flatten(y, "flatten")?;
    let (f1, f2) = (spec.channels(120), spec.channels(84));
    y = b.linear(y, "fc1", c2 * h * w, f1)?;
    y = b.relu(y, "relu3")?;
    y = b.linear(y, "fc2", f1, f2)?;
    y = b.relu(y, "relu4")?;
    let y = b.linear(y, "fc3", f2, spec.classes)?;
    b.finish(y, metadata("lenet", spec))
}
