//! `resnet`: the CIFAR ResNet of He et al. (2016, section 4.2): a 3x3 stem, three stages of
//! basic blocks (16, 32, 64 channels; stride 2 at the start of stages 2 and 3), global average
//! pooling, one fully connected layer. 3 blocks per stage = ResNet-20. Shortcuts that change
//! shape are 1x1 projection convs with BatchNormalization ("option B").

use crate::builder::NetBuilder;
use crate::{metadata, Result, Spec};
use edgeopt_ir::{Model, ValueId};

struct Block<'a> {
    name: &'a str,
    cin: usize,
    cout: usize,
    stride: usize,
}

fn basic_block(b: &mut NetBuilder, x: ValueId, blk: &Block) -> Result<ValueId> {
    let n = blk.name;
    let mut y = b.conv(
        x,
        &format!("{n}.conv1"),
        blk.cin,
        blk.cout,
        3,
        blk.stride,
        1,
        1,
        false,
    )?;
    y = b.batch_norm(y, &format!("{n}.bn1"), blk.cout)?;
    y = b.relu(y, &format!("{n}.relu1"))?;
    y = b.conv(
        y,
        &format!("{n}.conv2"),
        blk.cout,
        blk.cout,
        3,
        1,
        1,
        1,
        false,
    )?;
    y = b.batch_norm(y, &format!("{n}.bn2"), blk.cout)?;
    let shortcut = if blk.stride != 1 || blk.cin != blk.cout {
        let s = b.conv(
            x,
            &format!("{n}.downsample.0"),
            blk.cin,
            blk.cout,
            1,
            blk.stride,
            0,
            1,
            false,
        )?;
        b.batch_norm(s, &format!("{n}.downsample.1"), blk.cout)?
    } else {
        x
    };
    let y = b.add(y, shortcut, &format!("{n}.add"))?;
    b.relu(y, &format!("{n}.relu2"))
}

pub(crate) fn build(spec: &Spec) -> Result<Model> {
    let c = spec.chw[0];
    let (mut b, x) = NetBuilder::new("resnet", &spec.chw, &spec.cfg.batch, spec.cfg.seed);
    let stem = spec.channels(16);
    let mut y = b.conv(x, "conv1", c, stem, 3, 1, 1, 1, false)?;
    y = b.batch_norm(y, "bn1", stem)?;
    y = b.relu(y, "relu")?;
    let blocks = spec.repeats(3);
    let mut cin = stem;
    for (stage, base) in [16, 32, 64].into_iter().enumerate() {
        let cout = spec.channels(base);
        for i in 0..blocks {
            let stride = if stage > 0 && i == 0 { 2 } else { 1 };
            let name = format!("layer{}.{i}", stage + 1);
            y = basic_block(
                &mut b,
                y,
                &Block {
                    name: &name,
                    cin,
                    cout,
                    stride,
                },
            )?;
            cin = cout;
        }
    }
    y = b.global_avg_pool(y, "avgpool")?;
    y = b.flatten(y, "flatten")?;
    let y = b.linear(y, "fc", cin, spec.classes)?;
    b.finish(y, metadata("resnet", spec))
}
