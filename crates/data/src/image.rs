//! Image decoding (PNG via `png`, JPEG via `zune-jpeg`), bilinear resizing, and image-folder
//! datasets (one sub-folder per class) as normalized NCHW f32.

use crate::dataset::{InMemoryDataset, Normalize};
use crate::error::{format_err, read_file, DataError, Result};
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// A decoded 8-bit image, rows of interleaved channels (HWC); `channels` is 1 or 3.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

/// Output color layout of [`to_chw`] and [`load_image_folder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// 3 channels, R, G, B (gray images are replicated).
    Rgb,
    /// 1 channel; color images become ITU-R 601 luma (as PIL's "L").
    Gray,
}

fn decode_png(bytes: &[u8], what: &str) -> Result<Image> {
    let err = |e: png::DecodingError| format_err(what, format!("bad PNG: {e}"));
    let mut dec = png::Decoder::new(Cursor::new(bytes));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(err)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| format_err(what, "PNG too large"))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(err)?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width as usize, info.height as usize);
    let (src_ch, keep) = match info.color_type {
        png::ColorType::Grayscale => (1, 1),
        png::ColorType::GrayscaleAlpha => (2, 1),
        png::ColorType::Rgb => (3, 3),
        png::ColorType::Rgba => (4, 3),
        png::ColorType::Indexed => {
            return Err(format_err(what, "indexed PNG was not expanded"));
        }
    };
    let row = info.line_size;
    let mut data = Vec::with_capacity(w * h * keep);
    for y in 0..h {
        let line = &buf[y * row..y * row + w * src_ch];
        for px in line.chunks_exact(src_ch) {
            // Alpha is dropped: the color channels are taken as they are.
            data.extend_from_slice(&px[..keep]);
        }
    }
    Ok(Image {
        width: w,
        height: h,
        channels: keep,
        data,
    })
}

fn decode_jpeg(bytes: &[u8], what: &str) -> Result<Image> {
    use zune_jpeg::zune_core::{colorspace::ColorSpace, options::DecoderOptions};
    let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(Cursor::new(bytes), opts);
    let data = dec
        .decode()
        .map_err(|e| format_err(what, format!("bad JPEG: {e:?}")))?;
    let info = dec
        .info()
        .ok_or_else(|| format_err(what, "JPEG has no header"))?;
    let (w, h) = (info.width as usize, info.height as usize);
    if data.len() != w * h * 3 {
        return Err(format_err(
            what,
            format!("JPEG decoded to {} bytes for {w}x{h} RGB", data.len()),
        ));
    }
    Ok(Image {
        width: w,
        height: h,
        channels: 3,
        data,
    })
}

/// Decodes PNG or JPEG bytes (told apart by their magic bytes).
pub fn decode_image(bytes: &[u8], what: &str) -> Result<Image> {
    let img = if bytes.starts_with(b"\x89PNG") {
        decode_png(bytes, what)?
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        decode_jpeg(bytes, what)?
    } else {
        return Err(format_err(what, "not a PNG or JPEG file"));
    };
    if img.width == 0 || img.height == 0 {
        return Err(format_err(what, "image has no pixels"));
    }
    Ok(img)
}

/// Reads and decodes a PNG or JPEG file.
pub fn read_image(path: &Path) -> Result<Image> {
    decode_image(&read_file(path)?, &path.display().to_string())
}

/// Bilinear resize of one f32 plane with half-pixel centers (OpenCV `INTER_LINEAR`, PyTorch
/// `align_corners=False` without antialiasing).
pub fn resize_bilinear(src: &[f32], sh: usize, sw: usize, dh: usize, dw: usize) -> Vec<f32> {
    let taps = |d: usize, s: usize| -> Vec<(usize, usize, f32)> {
        (0..d)
            .map(|o| {
                let x = ((o as f32 + 0.5) * s as f32 / d as f32 - 0.5).max(0.0);
                let i0 = (x.floor() as usize).min(s - 1);
                let i1 = (i0 + 1).min(s - 1);
                (i0, i1, x - i0 as f32)
            })
            .collect()
    };
    let (ys, xs) = (taps(dh, sh), taps(dw, sw));
    let mut out = Vec::with_capacity(dh * dw);
    for &(y0, y1, fy) in &ys {
        for &(x0, x1, fx) in &xs {
            let top = src[y0 * sw + x0] * (1.0 - fx) + src[y0 * sw + x1] * fx;
            let bot = src[y1 * sw + x0] * (1.0 - fx) + src[y1 * sw + x1] * fx;
            out.push(top * (1.0 - fy) + bot * fy);
        }
    }
    out
}

/// The image as CHW f32 in [0, 1], converted to `mode` and resized to `height` x `width`.
pub fn to_chw(img: &Image, height: usize, width: usize, mode: ColorMode) -> Vec<f32> {
    let n = img.width * img.height;
    let plane = |c: usize| -> Vec<f32> {
        (0..n)
            .map(|i| img.data[i * img.channels + c] as f32 / 255.0)
            .collect()
    };
    let planes: Vec<Vec<f32>> = match (mode, img.channels) {
        (ColorMode::Gray, 1) => vec![plane(0)],
        (ColorMode::Rgb, 1) => vec![plane(0); 3],
        (ColorMode::Rgb, _) => (0..3).map(plane).collect(),
        (ColorMode::Gray, _) => {
            let (r, g, b) = (plane(0), plane(1), plane(2));
            vec![(0..n)
                .map(|i| 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i])
                .collect()]
        }
    };
    planes
        .iter()
        .flat_map(|p| {
            if (img.height, img.width) == (height, width) {
                p.clone()
            } else {
                resize_bilinear(p, img.height, img.width, height, width)
            }
        })
        .collect()
}

/// How [`load_image_folder`] turns images into samples.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFolderConfig {
    pub height: usize,
    pub width: usize,
    pub color: ColorMode,
    /// Applied after scaling to [0, 1]; one mean/std per channel (or one for all).
    pub normalize: Option<Normalize>,
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |source| DataError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut v = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io)?;
    v.sort();
    Ok(v)
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["png", "jpg", "jpeg"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Loads `dir/<class>/<image>.{png,jpg,jpeg}`: classes are the sub-folders in sorted order
/// (label = position, names in `class_names`), samples `[C, height, width]`. Other files are
/// skipped; an undecodable image is an error naming it.
pub fn load_image_folder(dir: &Path, cfg: &ImageFolderConfig) -> Result<InMemoryDataset> {
    if cfg.height == 0 || cfg.width == 0 {
        return Err(DataError::Invalid(format!(
            "image size {}x{} is empty",
            cfg.height, cfg.width
        )));
    }
    let channels = if cfg.color == ColorMode::Rgb { 3 } else { 1 };
    let classes: Vec<PathBuf> = sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    let (mut feats, mut labels, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for (label, class_dir) in classes.iter().enumerate() {
        names.push(
            class_dir
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        );
        for file in sorted_entries(class_dir)?
            .into_iter()
            .filter(|p| is_image(p))
        {
            let img = read_image(&file)?;
            feats.extend(to_chw(&img, cfg.height, cfg.width, cfg.color));
            labels.push(label as i64);
        }
    }
    if labels.is_empty() {
        return Err(format_err(
            &dir.display().to_string(),
            "no PNG/JPEG images in class sub-folders",
        ));
    }
    let shape = vec![channels, cfg.height, cfg.width];
    let mut d = InMemoryDataset::new(
        &dir.display().to_string(),
        shape,
        feats,
        labels,
        names.len(),
    )?;
    d.class_names = names;
    if let Some(n) = &cfg.normalize {
        d.normalize(n)?;
    }
    Ok(d)
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
