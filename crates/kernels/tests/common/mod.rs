//! Shared test helpers: a GEMM problem with explicit layouts, random data, and the check
//! against the f64 reference.
#![allow(dead_code)]

use edgeopt_kernels::{reference, Activation, Bias, GemmParams, Kernels, MatMut, MatRef, PackedB};

/// Relative tolerance against the magnitude of the k-length dot product (see `check`).
pub const REL_TOL: f64 = 1e-5;
/// Absolute floor, for activations computed with polynomial approximations (sigmoid).
pub const ABS_TOL: f64 = 1e-6;

/// How a matrix is laid out in its slice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layout {
    /// Row stride `cols + pad`, column stride 1.
    RowMajor { pad: usize },
    /// Column stride `rows + pad`, row stride 1 (a transposed matrix).
    ColMajor { pad: usize },
    /// Both strides above 1: row stride `2 * cols + 1`, column stride 2.
    Strided,
}

impl Layout {
    /// `(row_stride, col_stride, slice length)` for a `rows x cols` matrix.
    pub fn strides(self, rows: usize, cols: usize) -> (usize, usize, usize) {
        let (rs, cs) = match self {
            Layout::RowMajor { pad } => (cols + pad, 1),
            Layout::ColMajor { pad } => (1, rows + pad),
            Layout::Strided => (2 * cols + 1, 2),
        };
        let len = if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs + (cols - 1) * cs + 1
        };
        (rs, cs, len)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BiasKind {
    None,
    PerRow,
    PerCol,
}

/// One GEMM problem: shapes, layouts, parameters and a seed for the data.
#[derive(Debug, Clone)]
pub struct Case {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: Layout,
    pub b: Layout,
    pub c: Layout,
    pub alpha: f32,
    pub beta: f32,
    pub bias: BiasKind,
    pub act: Activation,
    pub threads: usize,
    pub seed: u64,
}

impl Case {
    pub fn simple(m: usize, n: usize, k: usize) -> Case {
        Case {
            m,
            n,
            k,
            a: Layout::RowMajor { pad: 0 },
            b: Layout::RowMajor { pad: 0 },
            c: Layout::RowMajor { pad: 0 },
            alpha: 1.0,
            beta: 0.0,
            bias: BiasKind::None,
            act: Activation::None,
            threads: 1,
            seed: 1,
        }
    }
}

/// Uniform values in [-1, 1) from a xorshift generator: cheap and reproducible from a seed.
pub fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// The inputs of a case, built once so several tables can run on the same data.
pub struct Data {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub c0: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Data {
    pub fn new(case: &Case) -> Data {
        let (.., alen) = case.a.strides(case.m, case.k);
        let (.., blen) = case.b.strides(case.k, case.n);
        let (.., clen) = case.c.strides(case.m, case.n);
        let mut c0 = random(clen, case.seed ^ 3);
        if case.beta == 0.0 {
            // With beta = 0, C must not be read: NaN would leak into the result if it were.
            c0.fill(f32::NAN);
        }
        let bias_len = match case.bias {
            BiasKind::None => 0,
            BiasKind::PerRow => case.m,
            BiasKind::PerCol => case.n,
        };
        Data {
            a: random(alen, case.seed ^ 1),
            b: random(blen, case.seed ^ 2),
            c0,
            bias: random(bias_len, case.seed ^ 4),
        }
    }

    pub fn params(&self, case: &Case) -> GemmParams<'_> {
        let bias = match case.bias {
            BiasKind::None => Bias::None,
            BiasKind::PerRow => Bias::PerRow(&self.bias),
            BiasKind::PerCol => Bias::PerCol(&self.bias),
        };
        GemmParams {
            alpha: case.alpha,
            beta: case.beta,
            bias,
            activation: case.act,
            threads: case.threads,
        }
    }

    pub fn a(&self, case: &Case) -> MatRef<'_> {
        let (rs, cs, _) = case.a.strides(case.m, case.k);
        MatRef::new(&self.a, case.m, case.k, rs, cs).unwrap()
    }

    pub fn b(&self, case: &Case) -> MatRef<'_> {
        let (rs, cs, _) = case.b.strides(case.k, case.n);
        MatRef::new(&self.b, case.k, case.n, rs, cs).unwrap()
    }
}

/// Runs `case` on `table` (through a `PackedB` if `prepacked`) and returns C's slice.
pub fn run(table: &Kernels, case: &Case, data: &Data, prepacked: bool) -> Vec<f32> {
    let mut c = data.c0.clone();
    let (rs, cs, _) = case.c.strides(case.m, case.n);
    let cm = MatMut::new(&mut c, case.m, case.n, rs, cs).unwrap();
    let params = data.params(case);
    if prepacked {
        let packed = PackedB::with_kernels(table, data.b(case)).unwrap();
        table
            .gemm_prepacked(&params, data.a(case), &packed, cm)
            .unwrap();
    } else {
        table.gemm(&params, data.a(case), data.b(case), cm).unwrap();
    }
    c
}

/// Runs `case` on `table` and compares every output with the f64 reference:
/// `|got - want| <= REL_TOL * L * magnitude + ABS_TOL`, where `magnitude` is
/// `|alpha| sum_p |a_ip b_pj| + |beta c_ij| + |bias|` and `L` the activation's Lipschitz bound.
pub fn check(table: &Kernels, case: &Case, prepacked: bool) -> Result<(), String> {
    let data = Data::new(case);
    let got = run(table, case, &data, prepacked);
    let mut want = data.c0.clone();
    let (rs, cs, _) = case.c.strides(case.m, case.n);
    let params = data.params(case);
    let wm = MatMut::new(&mut want, case.m, case.n, rs, cs).unwrap();
    reference::gemm(&params, data.a(case), data.b(case), wm).unwrap();
    let c0 = MatRef::new(&data.c0, case.m, case.n, rs, cs).unwrap();
    let mag = reference::magnitude(&params, data.a(case), data.b(case), c0);
    let lip = case.act.lipschitz().max(1.0) as f64;
    let mut inside = vec![false; got.len()];
    for i in 0..case.m {
        for j in 0..case.n {
            inside[i * rs + j * cs] = true;
            let (g, w) = (got[i * rs + j * cs] as f64, want[i * rs + j * cs] as f64);
            let tol = REL_TOL * lip * mag[i * case.n + j] + ABS_TOL;
            if (g - w).abs() > tol || g.is_nan() != w.is_nan() {
                return Err(format!(
                    "{} (prepacked {prepacked}): C[{i},{j}] = {g}, reference {w}, tolerance {tol:e}; {case:?}",
                    table.name()
                ));
            }
        }
    }
    for (idx, _) in inside.iter().enumerate().filter(|(_, &v)| !v) {
        if got[idx].to_bits() != data.c0[idx].to_bits() {
            return Err(format!(
                "{}: wrote outside C at {idx}; {case:?}",
                table.name()
            ));
        }
    }
    Ok(())
}
