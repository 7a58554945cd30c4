//! Cached teacher logits: a distillation run reading them matches one that runs the teacher
//! every step; the cache file round-trips, is reused only for the same teacher and data, and
//! refuses augmented training; without a cache the teacher sees the augmented batch, and such a
//! run is bit-for-bit reproducible at one thread.

use edgeopt_ir::{AttrList, Model};
use edgeopt_tensor::Tensor;
use edgeopt_train::optim::OptimizerKind;
use edgeopt_train::rng::Rng;
use edgeopt_train::testing::{bars_dataset, uniform, GraphBuilder};
use edgeopt_train::{Augment, Dataset, Loss, TeacherCache, TrainConfig, TrainSpec, Trainer};

/// x [N, 1, 8, 8] -> Flatten -> Gemm(hidden) -> Relu -> Gemm(3).
fn mlp(seed: u64, hidden: usize) -> Model {
    let mut rng = Rng::new(seed);
    let mut b = GraphBuilder::new(17);
    let x = b.input("x", &[1, 1, 8, 8]);
    let a = AttrList::default;
    let f = b.op1("Flatten", a(), &[x]).unwrap();
    let w1 = b.init("fc1.w", uniform(&mut rng, &[hidden, 64], -0.3, 0.3));
    let b1 = b.init(
        "fc1.b",
        Tensor::from_vec(vec![hidden], vec![0f32; hidden]).unwrap(),
    );
    let h = b.op1("Gemm", a().int("transB", 1), &[f, w1, b1]).unwrap();
    let r = b.op1("Relu", a(), &[h]).unwrap();
    let w2 = b.init("fc2.w", uniform(&mut rng, &[3, hidden], -0.3, 0.3));
    let b2 = b.init("fc2.b", Tensor::from_vec(vec![3], vec![0f32; 3]).unwrap());
    let y = b.op1("Gemm", a().int("transB", 1), &[r, w2, b2]).unwrap();
    b.finish(&[y]).unwrap()
}

fn config(augment: Augment) -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 16,
        optimizer: OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
        },
        lr: 0.05,
        seed: 7,
        augment,
        ..Default::default()
    }
}

fn student(cfg: TrainConfig, n: usize) -> Trainer {
    let spec = TrainSpec {
        loss: Loss::Distillation {
            lambda: 0.7,
            temperature: 4.0,
        },
        ..TrainSpec::cross_entropy()
    };
    Trainer::new(&mlp(2, 6), &spec, cfg, n).unwrap()
}

#[test]
fn cached_and_uncached_runs_match() {
    let data = bars_dataset(80, 3).unwrap();
    let teacher = mlp(1, 32);
    let losses = |cached: bool| {
        let mut t = student(config(Augment::default()), data.len());
        t.teacher = Some(teacher.clone());
        if cached {
            // Batches of 32 for the cache, 16 for training: the logits must not depend on it.
            t.teacher_cache = Some(TeacherCache::compute(&teacher, &data, 32, 1).unwrap());
        }
        let l: Vec<f64> = (0..3)
            .map(|_| t.train_epoch(&data, |_, _, _| {}).unwrap().loss)
            .collect();
        (l, t.params.clone())
    };
    let (plain, p1) = losses(false);
    let (cached, p2) = losses(true);
    // The teacher's logits of one sample are the same whatever batch it is in, so the runs
    // are equal up to float reassociation (tolerance 1e-6 relative).
    for (a, b) in plain.iter().zip(&cached) {
        assert!(
            (a - b).abs() <= 1e-6 * a.abs().max(1.0),
            "losses per epoch: uncached {plain:?}, cached {cached:?}"
        );
    }
    for (a, b) in p1.iter().zip(&p2) {
        let (a, b) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 1e-5, "parameters differ by {worst}");
    }
    assert!(plain[2] < plain[0], "the student did not learn: {plain:?}");
}

#[test]
fn cache_file_round_trips_and_is_reused_only_for_its_teacher_and_data() {
    let data = bars_dataset(40, 5).unwrap();
    let other = bars_dataset(40, 6).unwrap();
    let teacher = mlp(1, 16);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("teacher.logits");
    let (c, computed) = TeacherCache::load_or_compute(&path, &teacher, &data, 16, 1).unwrap();
    assert!(computed);
    assert_eq!((c.samples, c.classes, c.logits.len()), (40, 3, 120));
    assert_eq!(TeacherCache::load(&path).unwrap(), c);
    let (again, computed) = TeacherCache::load_or_compute(&path, &teacher, &data, 16, 1).unwrap();
    assert!(!computed);
    assert_eq!(again, c);
    // Rows are the logits of the teacher run on each sample alone (batch 1).
    let rows = c.rows(&[4, 9]).unwrap();
    let rows = rows.as_slice::<f32>().unwrap();
    for (k, i) in [4usize, 9].into_iter().enumerate() {
        let (x, _) = data.subset(&[i]).unwrap().to_tensors().unwrap();
        let feeds = vec![edgeopt_ir::Value::Tensor(x)];
        let z = edgeopt_train::trainer::execute(&teacher, feeds).unwrap();
        let z = z[0]
            .as_tensor()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec();
        let worst = rows[3 * k..3 * k + 3]
            .iter()
            .zip(&z)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-5,
            "sample {i}: cached row differs from the teacher by {worst}"
        );
    }
    assert!(c.rows(&[40]).is_err());
    // Other data or another teacher: recomputed, and the file replaced.
    let (c2, computed) = TeacherCache::load_or_compute(&path, &teacher, &other, 16, 1).unwrap();
    assert!(computed && c2.fingerprint != c.fingerprint);
    let (c3, computed) = TeacherCache::load_or_compute(&path, &mlp(9, 16), &other, 16, 1).unwrap();
    assert!(computed && c3.fingerprint != c2.fingerprint);
    // A truncated or foreign file is an error, not a panic.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    assert!(TeacherCache::load(&path).is_err());
    std::fs::write(&path, b"not a cache").unwrap();
    assert!(TeacherCache::load(&path).is_err());
}

#[test]
fn cache_refuses_augmented_training() {
    let data = bars_dataset(32, 4).unwrap();
    let teacher = mlp(1, 16);
    let aug = Augment {
        horizontal_flip: true,
        ..Augment::default()
    };
    let mut t = student(config(aug), data.len());
    t.teacher = Some(teacher.clone());
    t.teacher_cache = Some(TeacherCache::compute(&teacher, &data, 16, 1).unwrap());
    let err = t.train_epoch(&data, |_, _, _| {}).unwrap_err().to_string();
    assert!(err.contains("augmentation"), "{err}");
}

fn crop_and_flip() -> Augment {
    Augment {
        crop_padding: 2,
        horizontal_flip: true,
        ..Augment::default()
    }
}

/// With augmentation the teacher labels the augmented image the student sees: a teacher that
/// is a copy of the student, lambda 1 and no weight decay give a zero gradient (up to the
/// rounding of two executors), so the student does not move; labelled from the original
/// image, it would.
#[test]
fn augmented_distillation_runs_the_teacher_on_the_augmented_batch() {
    let data = bars_dataset(48, 3).unwrap();
    let spec = TrainSpec {
        loss: Loss::Distillation {
            lambda: 1.0,
            temperature: 2.0,
        },
        ..TrainSpec::cross_entropy()
    };
    let cfg = |teacher_seed: u64| {
        let mut cfg = config(crop_and_flip());
        cfg.optimizer = OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.0,
        };
        cfg.lr = 0.5;
        (cfg, mlp(teacher_seed, 6))
    };
    let moved = |teacher_seed: u64| {
        let (cfg, teacher) = cfg(teacher_seed);
        let mut t = Trainer::new(&mlp(2, 6), &spec, cfg, data.len()).unwrap();
        let before = t.params.clone();
        t.teacher = Some(teacher);
        t.train_epoch(&data, |_, _, _| {}).unwrap();
        before
            .iter()
            .zip(&t.params)
            .flat_map(|(a, b)| {
                let (a, b) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .collect::<Vec<_>>()
            })
            .fold(0f32, f32::max)
    };
    let same_teacher = moved(2);
    let other_teacher = moved(5);
    assert!(
        same_teacher <= 1e-5,
        "a copy of the student as teacher moved it by {same_teacher}"
    );
    assert!(
        other_teacher > 1e-3,
        "another teacher moved the student only by {other_teacher}"
    );
}

/// Augmented distillation (teacher every step) at one thread: two runs are bit-for-bit equal,
/// and the augmentation is applied (a run without it ends elsewhere).
#[test]
fn augmented_distillation_is_deterministic_at_one_thread() {
    let data = bars_dataset(48, 6).unwrap();
    let teacher = mlp(1, 16);
    let run = |augment: Augment| {
        let mut cfg = config(augment);
        cfg.threads = 1;
        let mut t = student(cfg, data.len());
        t.teacher = Some(teacher.clone());
        for _ in 0..2 {
            t.train_epoch(&data, |_, _, _| {}).unwrap();
        }
        t.params
    };
    let bits = |p: &[Tensor]| {
        p.iter()
            .flat_map(|t| t.as_slice::<f32>().unwrap().iter().map(|x| x.to_bits()))
            .collect::<Vec<u32>>()
    };
    let a = bits(&run(crop_and_flip()));
    let b = bits(&run(crop_and_flip()));
    assert!(
        a == b,
        "two augmented distillation runs with one seed differ"
    );
    assert!(
        a != bits(&run(Augment::default())),
        "the augmentation changed nothing"
    );
}
