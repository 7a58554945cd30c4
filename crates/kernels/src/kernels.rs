//! The kernel table and how one is picked for the running CPU.

use std::fmt;
use std::sync::OnceLock;

use crate::arch::{self, ActKernel, GemvKernel, MicroKernel, PrefetchKernel};
use crate::conv::{DepthwiseBlockKernel, DepthwiseKernel, PointwiseKernel, WinogradTransforms};
use crate::elementwise::{BinaryKernel, UnaryKernel};
use crate::norm::NormKernel;
use crate::softmax::SoftmaxKernel;
use crate::{Activation, KernelError, Result};

/// Cache blocking of the packed GEMM, in elements (BLIS names): an `mc x kc` block of A is
/// packed to stay in L2, a `kc x nc` block of B in L3, and one `kc x nr` micro-panel of B in L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocking {
    /// Rows of A per packed block; a multiple of the tile rows.
    pub mc: usize,
    /// Depth (shared dimension) per packed block.
    pub kc: usize,
    /// Columns of B per packed block; a multiple of the tile columns.
    pub nc: usize,
}

/// A table of kernels for one instruction set.
///
/// Tables are built by [`Kernels::generic`] (portable Rust) and [`Kernels::native`] (the
/// generic table with entries overridden for the features detected at run time), so an entry is
/// only ever installed on a CPU that can run it: that is what makes calling the `unsafe fn`
/// pointers sound.
#[derive(Clone)]
pub struct Kernels {
    pub(crate) name: &'static str,
    /// Register tile of the micro-kernel: `mr` rows of A by `nr` columns of B.
    pub(crate) mr: usize,
    pub(crate) nr: usize,
    pub(crate) mmm: MicroKernel,
    /// The micro-kernel that prefetches the next B panel, where the table has one.
    pub(crate) mmm_prefetch: Option<PrefetchKernel>,
    pub(crate) gemv_rows: GemvKernel,
    pub(crate) gemv_dots: GemvKernel,
    pub(crate) act: ActKernel,
    pub(crate) depthwise: DepthwiseKernel,
    pub(crate) depthwise_block: DepthwiseBlockKernel,
    pub(crate) pointwise: PointwiseKernel,
    pub(crate) winograd: WinogradTransforms,
    pub(crate) unary: UnaryKernel,
    pub(crate) binary: BinaryKernel,
    pub(crate) softmax: SoftmaxKernel,
    pub(crate) norm: NormKernel,
    pub(crate) blocking: Blocking,
    /// Work (flops) a thread must get before a product is split; spawning costs ~10-50 us.
    pub(crate) min_flops_per_thread: usize,
}

impl fmt::Debug for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernels")
            .field("name", &self.name)
            .field("tile", &(self.mr, self.nr))
            .field("blocking", &self.blocking)
            .field("min_flops_per_thread", &self.min_flops_per_thread)
            .finish()
    }
}

/// The table this process uses: [`Kernels::native`], unless the environment variable
/// `EDGEOPT_KERNELS` names another one (see [`Kernels::select`]; read once, at the first call).
pub fn kernels() -> &'static Kernels {
    static SELECTED: OnceLock<&'static Kernels> = OnceLock::new();
    SELECTED.get_or_init(|| Kernels::select(std::env::var("EDGEOPT_KERNELS").ok().as_deref()))
}

/// The generic table, then every table this CPU supports, slowest first.
fn all_tables() -> &'static [Kernels] {
    static ALL: OnceLock<Vec<Kernels>> = OnceLock::new();
    ALL.get_or_init(|| {
        let generic = arch::generic::table();
        let mut all = arch::native_tables(&generic);
        all.insert(0, generic);
        all
    })
}

impl Kernels {
    /// The portable table: plain Rust that the compiler vectorizes for the baseline target.
    pub fn generic() -> &'static Kernels {
        &all_tables()[0]
    }

    /// The fastest table this CPU supports (AVX-512F, AVX2+FMA, NEON, or the generic one).
    pub fn native() -> &'static Kernels {
        all_tables()
            .last()
            .expect("the generic table is always there")
    }

    /// Every table usable here, generic first and the native one last: what tests and
    /// benchmarks iterate over (on an AVX-512 CPU: generic, AVX2+FMA and AVX-512).
    pub fn available() -> Vec<&'static Kernels> {
        all_tables().iter().collect()
    }

    /// [`Kernels::available`] plus each table's wide-tile twin ([`Kernels::wide_tile`]): what
    /// the GEMM and convolution tests iterate over, so every register tile a layer can run on
    /// is checked (skipped where the CPU lacks its ISA).
    pub fn available_with_tiles() -> Vec<&'static Kernels> {
        let mut all = Kernels::available();
        all.extend(
            Kernels::available()
                .into_iter()
                .filter_map(Kernels::wide_tile),
        );
        all
    }

    /// The table named by a value of `EDGEOPT_KERNELS`: `generic` forces the portable table,
    /// `avx2` (or `fma`, `x86_64_fma`) the AVX2+FMA one and `avx512` (or `x86_64_avx512`) the
    /// AVX-512 one, when this CPU has them; anything else (unset, `native`, an unknown name, a
    /// table this CPU lacks) picks [`Kernels::native`].
    pub fn select(value: Option<&str>) -> &'static Kernels {
        let name = match value.map(str::trim) {
            Some("generic") => "generic",
            Some("avx2" | "fma" | "x86_64_fma") => "x86_64_fma",
            Some("avx512" | "x86_64_avx512") => "x86_64_avx512",
            _ => return Kernels::native(),
        };
        all_tables()
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(Kernels::native)
    }

    /// This table with a wider GEMM register tile (8x48 on AVX-512), for products whose shape
    /// suits it (convolutions pick per shape); `None` where the table has no such twin,
    /// including copies of a table with other blocking (tests that want their blocking kept).
    pub fn wide_tile(&self) -> Option<&'static Kernels> {
        static WIDE: OnceLock<Option<Kernels>> = OnceLock::new();
        let base = all_tables().iter().find(|t| t.name == self.name)?;
        if base.blocking != self.blocking || base.mr != self.mr {
            return None;
        }
        WIDE.get_or_init(|| all_tables().iter().find_map(arch::wide_tile))
            .as_ref()
            .filter(|w| w.name.starts_with(self.name))
    }

    /// Tables with other AVX-512 register tiles (named `avx512 MxN`; empty on CPUs without
    /// AVX-512F), for measuring tile choices (`benches/gemm.rs -- --tiles`).
    #[doc(hidden)]
    pub fn tile_variants() -> Vec<Kernels> {
        arch::tile_variants()
    }

    /// Name of the table: `generic`, `x86_64_fma`, `x86_64_avx512` or `aarch64_neon`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Register tile `(mr, nr)` of the GEMM micro-kernel.
    pub fn tile(&self) -> (usize, usize) {
        (self.mr, self.nr)
    }

    /// Cache blocking of the GEMM.
    pub fn blocking(&self) -> Blocking {
        self.blocking
    }

    /// A copy of this table with other cache blocking, for tuning and for tests that need
    /// small blocks to cross every block boundary.
    pub fn with_blocking(&self, blocking: Blocking) -> Result<Kernels> {
        let Blocking { mc, kc, nc } = blocking;
        if mc == 0 || kc == 0 || nc == 0 || mc % self.mr != 0 || nc % self.nr != 0 {
            return Err(KernelError::BadBlocking {
                mc,
                kc,
                nc,
                mr: self.mr,
                nr: self.nr,
            });
        }
        Ok(Kernels {
            blocking,
            ..self.clone()
        })
    }

    /// A copy of this table that splits a product across threads only when each thread gets
    /// at least `flops` (default 4 M); 0 splits whenever more than one thread is asked for.
    pub fn with_min_flops_per_thread(&self, flops: usize) -> Kernels {
        Kernels {
            min_flops_per_thread: flops,
            ..self.clone()
        }
    }

    /// Applies `act` to every element of `xs` with this table's vectorized kernel.
    pub fn activate(&self, xs: &mut [f32], act: Activation) -> Result<()> {
        act.validate()?;
        // SAFETY: the table only holds kernels this CPU runs.
        unsafe { (self.act)(xs, act) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_env_value() {
        assert_eq!(Kernels::select(Some("generic")).name(), "generic");
        assert_eq!(Kernels::select(Some(" generic ")).name(), "generic");
        assert_eq!(Kernels::select(None).name(), Kernels::native().name());
        assert_eq!(
            Kernels::select(Some("bogus")).name(),
            Kernels::native().name()
        );
    }

    #[test]
    fn native_table_matches_this_cpu() {
        #[cfg(target_arch = "x86_64")]
        {
            let fma = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            let avx512 = fma && is_x86_feature_detected!("avx512f");
            let want = match (fma, avx512) {
                (_, true) => "x86_64_avx512",
                (true, false) => "x86_64_fma",
                _ => "generic",
            };
            assert_eq!(Kernels::native().name(), want);
            let names: Vec<_> = Kernels::available().iter().map(|t| t.name()).collect();
            let all = ["generic", "x86_64_fma", "x86_64_avx512"];
            assert_eq!(
                names,
                all[..names.len()],
                "generic, then AVX2, then AVX-512"
            );
            for (value, name) in [("avx2", "x86_64_fma"), ("fma", "x86_64_fma")] {
                let want = if fma { name } else { Kernels::native().name() };
                assert_eq!(Kernels::select(Some(value)).name(), want);
            }
            let want = if avx512 {
                "x86_64_avx512"
            } else {
                Kernels::native().name()
            };
            assert_eq!(Kernels::select(Some("avx512")).name(), want);
        }
        #[cfg(target_arch = "aarch64")]
        assert_eq!(Kernels::native().name(), "aarch64_neon");
    }

    #[test]
    fn wide_tile_only_for_avx512_as_shipped() {
        for t in Kernels::available() {
            let wide = t.wide_tile();
            assert_eq!(wide.is_some(), t.name() == "x86_64_avx512", "{}", t.name());
            if let Some(w) = wide {
                assert_eq!(w.tile(), (8, 48));
                assert!(w.wide_tile().is_none(), "no twin of a twin");
                let small = t
                    .with_blocking(Blocking {
                        mc: t.mr,
                        kc: 7,
                        nc: t.nr,
                    })
                    .unwrap();
                assert!(small.wide_tile().is_none(), "other blocking is kept");
            }
        }
        let n = Kernels::available().len();
        let with = Kernels::available_with_tiles().len();
        assert_eq!(
            with,
            n + usize::from(Kernels::native().wide_tile().is_some())
        );
    }

    #[test]
    fn blocking_must_fit_the_tile() {
        let k = Kernels::generic();
        let (mr, nr) = k.tile();
        assert!(k
            .with_blocking(Blocking {
                mc: mr,
                kc: 1,
                nc: nr
            })
            .is_ok());
        let bad = k
            .with_blocking(Blocking {
                mc: mr + 1,
                kc: 1,
                nc: nr,
            })
            .unwrap_err();
        assert!(bad.to_string().contains("multiples"), "{bad}");
        assert!(k
            .with_blocking(Blocking {
                mc: mr,
                kc: 0,
                nc: nr
            })
            .is_err());
    }
}
