//! The real Fashion-MNIST files, when present (`$EDGEOPT_FASHION_MNIST`,
//! `<repo>/../shared/data/fashion-mnist` or `<repo>/data/fashion-mnist`).

use edgeopt_data::mnist::{fashion_mnist_dir, load_mnist_dir};
use edgeopt_data::{DataLoader, Dataset, LoaderConfig};
use std::path::Path;

#[test]
fn loads_the_real_train_and_test_sets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Some(dir) = fashion_mnist_dir(&root).filter(|d| d.is_dir()) else {
        println!("skipped: Fashion-MNIST not found (set EDGEOPT_FASHION_MNIST or run scripts/fetch-data.sh)");
        return;
    };
    let (train, test) = load_mnist_dir(&dir).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(
        (train.sample_shape(), train.num_classes()),
        (&[1usize, 28, 28][..], 10)
    );
    let mut counts = [0usize; 10];
    for &l in train.labels() {
        counts[l as usize] += 1;
    }
    assert_eq!(counts, [6000; 10]);
    assert_eq!(&train.labels()[..5], &[9, 0, 0, 3, 0]);
    // numpy: mean 0.28604060, std 0.35302424 over all training pixels / 255.
    let s = train.channel_stats();
    assert!(
        (s.mean[0] - 0.286_040_6).abs() < 1e-5 && (s.std[0] - 0.353_024_2).abs() < 1e-5,
        "{s:?}"
    );
    let first: f64 = train.sample(0).iter().map(|&v| v as f64).sum();
    assert!((first - 299.007_843).abs() < 1e-3, "{first}");
    assert!((test.channel_stats().mean[0] - 0.286_849_3).abs() < 1e-5);

    let loader = DataLoader::new(
        &train,
        LoaderConfig {
            batch_size: 64,
            drop_last: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(loader.num_batches(), 937);
    let b = loader.epoch(0).next().unwrap().unwrap();
    assert_eq!(b.features.shape(), &[64, 1, 28, 28]);
}
