use super::*;
use crate::Dataset;

fn png_bytes(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(data).unwrap();
    }
    out
}

fn jpeg_bytes(w: u16, h: u16, rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, 100);
    enc.encode(rgb, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

#[test]
fn png_color_types_decode_exactly() {
    let rgb: Vec<u8> = (0..2 * 3 * 3).map(|v| (v * 13) as u8).collect();
    let img = decode_image(
        &png_bytes(3, 2, png::ColorType::Rgb, png::BitDepth::Eight, &rgb),
        "a.png",
    )
    .unwrap();
    assert_eq!((img.width, img.height, img.channels), (3, 2, 3));
    assert_eq!(img.data, rgb);

    let rgba = [10, 20, 30, 0, 40, 50, 60, 255];
    let img = decode_image(
        &png_bytes(2, 1, png::ColorType::Rgba, png::BitDepth::Eight, &rgba),
        "b.png",
    )
    .unwrap();
    assert_eq!(img.data, vec![10, 20, 30, 40, 50, 60]);

    let ga16 = [0x12, 0x34, 0xff, 0xff, 0xab, 0xcd, 0, 0];
    let img = decode_image(
        &png_bytes(
            2,
            1,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Sixteen,
            &ga16,
        ),
        "c.png",
    )
    .unwrap();
    assert_eq!((img.channels, img.data.clone()), (1, vec![0x12, 0xab]));
}

#[test]
fn jpeg_decodes_close_to_the_source() {
    let (w, h) = (16u16, 8u16);
    let rgb: Vec<u8> = (0..w as usize * h as usize)
        .flat_map(|_| [200u8, 100, 30])
        .collect();
    let img = decode_image(&jpeg_bytes(w, h, &rgb), "x.jpg").unwrap();
    assert_eq!((img.width, img.height, img.channels), (16, 8, 3));
    // Quality 100 on a flat color: chroma rounding only (tolerance 3 levels).
    for (a, b) in img.data.iter().zip(&rgb) {
        assert!((*a as i32 - *b as i32).abs() <= 3, "{a} vs {b}");
    }
}

#[test]
fn broken_images_name_the_file() {
    let png = png_bytes(
        2,
        2,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &[1, 2, 3, 4],
    );
    for (bytes, name) in [(&png[..png.len() - 20], "t.png"), (&b"hello"[..], "t.txt")] {
        let e = decode_image(bytes, name).unwrap_err().to_string();
        assert!(e.contains(name), "{e}");
    }
    let jpg = jpeg_bytes(8, 8, &[7; 192]);
    let e = decode_image(&jpg[..40], "t.jpg").unwrap_err().to_string();
    assert!(e.contains("t.jpg"), "{e}");
}

#[test]
fn bilinear_matches_half_pixel_reference() {
    let src = [0.0, 1.0, 2.0, 3.0];
    let out = resize_bilinear(&src, 2, 2, 4, 4);
    let row0 = [0.0, 0.25, 0.75, 1.0];
    for (y, dy) in [0.0, 0.5, 1.5, 2.0].iter().enumerate() {
        for x in 0..4 {
            assert!((out[y * 4 + x] - (row0[x] + dy)).abs() < 1e-6, "{out:?}");
        }
    }
    // Downscaling by 2 averages each 2x2 block's center: exact for a linear ramp.
    let ramp: Vec<f32> = (0..16).map(|v| v as f32).collect();
    let half = resize_bilinear(&ramp, 4, 4, 2, 2);
    assert_eq!(half, vec![2.5, 4.5, 10.5, 12.5]);
}

#[test]
fn to_chw_converts_color_modes() {
    let img = Image {
        width: 1,
        height: 1,
        channels: 3,
        data: vec![255, 0, 0],
    };
    assert_eq!(to_chw(&img, 1, 1, ColorMode::Rgb), vec![1.0, 0.0, 0.0]);
    assert!((to_chw(&img, 1, 1, ColorMode::Gray)[0] - 0.299).abs() < 1e-6);
    let gray = Image {
        width: 1,
        height: 1,
        channels: 1,
        data: vec![51],
    };
    assert_eq!(to_chw(&gray, 2, 2, ColorMode::Rgb), vec![0.2; 12]);
}

#[test]
fn image_folder_loads_classes_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (cats, dogs) = (dir.path().join("cats"), dir.path().join("dogs"));
    std::fs::create_dir_all(&cats).unwrap();
    std::fs::create_dir_all(&dogs).unwrap();
    let white: Vec<u8> = vec![255; 4 * 4 * 3];
    std::fs::write(
        cats.join("a.png"),
        png_bytes(4, 4, png::ColorType::Rgb, png::BitDepth::Eight, &white),
    )
    .unwrap();
    std::fs::write(cats.join("notes.txt"), "not an image").unwrap();
    std::fs::write(dogs.join("b.JPG"), jpeg_bytes(8, 8, &[0; 192])).unwrap();
    std::fs::write(
        dogs.join("c.png"),
        png_bytes(
            2,
            2,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[0, 255, 255, 0],
        ),
    )
    .unwrap();
    let cfg = ImageFolderConfig {
        height: 2,
        width: 2,
        color: ColorMode::Rgb,
        normalize: None,
    };
    let d = load_image_folder(dir.path(), &cfg).unwrap();
    assert_eq!(
        (d.len(), d.num_classes(), d.sample_shape()),
        (3, 2, &[3usize, 2, 2][..])
    );
    assert_eq!(d.class_names, vec!["cats", "dogs"]);
    assert_eq!(d.labels(), &[0, 1, 1]);
    assert!(d.sample(0).iter().all(|&v| v == 1.0));
    assert!(d.sample(1).iter().all(|&v| v.abs() < 0.02));
    assert_eq!(&d.sample(2)[..4], &[0.0, 1.0, 1.0, 0.0]);

    let norm = Normalize {
        mean: vec![0.5],
        std: vec![0.5],
    };
    let cfg = ImageFolderConfig {
        color: ColorMode::Gray,
        normalize: Some(norm),
        ..cfg
    };
    let g = load_image_folder(dir.path(), &cfg).unwrap();
    assert_eq!(g.sample_shape(), &[1, 2, 2]);
    assert!(g.sample(0).iter().all(|&v| (v - 1.0).abs() < 1e-5));

    std::fs::write(dogs.join("d.png"), b"\x89PNG broken").unwrap();
    let e = load_image_folder(dir.path(), &cfg).unwrap_err().to_string();
    assert!(e.contains("d.png"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    assert!(load_image_folder(empty.path(), &cfg).is_err());
}
